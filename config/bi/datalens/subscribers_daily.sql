-- DataLens dataset «Подписчики по дням»: one row per official VK page and day observed.
SELECT
    "Дата",
    "Месяц",
    "Орган",
    "Наименование органа",
    "ID органа",
    "Короткий адрес госпаблика",
    "Ссылка на госпаблик",
    "Подписчики",
    "Изменение за день",
    "Изменение с начала месяца"
FROM mart_ru.subscribers_daily
