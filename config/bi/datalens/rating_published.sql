-- DataLens dataset «Рейтинг органов (опубликованный)»: the latest published revision of each month
-- under each methodology, one row per body (rated or not), with mart_ru's Russian names.
SELECT
    r."Месяц",
    s.methodology_id AS "Методика",
    s.revision AS "Редакция",
    r."Группа",
    r."Место",
    r."Орган",
    r."Наименование органа",
    r."Итоговый балл",
    r."Зона",
    r."Изменение балла",
    r."Изменение места",
    r."Участников в группе",
    r."Сообщений",
    r."В рейтинге",
    r."Причина исключения",
    r."ID органа"
FROM mart_ru.rating_monthly AS r
INNER JOIN mart.rating_snapshot AS s ON r."ID выпуска" = s.snapshot_id
WHERE
    s.status = 'published'
    AND NOT EXISTS (
        SELECT 1
        FROM mart.rating_snapshot AS later
        WHERE
            later.month = s.month
            AND later.methodology_id = s.methodology_id
            AND later.status = 'published'
            AND later.revision > s.revision
    )
