-- The typed read of wall.get's raw answers ($files, gzip JSON lines): the relation vk_answers that
-- vk_post_observations.sql flattens. Run by the load over the raw files, and by the extractor over
-- each batch it lands, whose result it keeps beside the batch as Parquet (gospublic.vk.answers):
-- this file's text names that sidecar's version, so changing the column spec retires the old ones.
SELECT
    filename AS source_file,
    observed_at,
    response,
    error
FROM READ_JSON(
    $files,
    format = 'newline_delimited',
    compression = 'gzip',
    filename = TRUE,
    columns = {
        observed_at: 'VARCHAR',
        response: 'STRUCT(items STRUCT(
            id BIGINT, owner_id BIGINT, "date" BIGINT, "text" VARCHAR, attachments STRUCT("type" VARCHAR)[],
            is_pinned JSON, copy_history JSON, "views" STRUCT("count" BIGINT),
            likes STRUCT("count" BIGINT), "comments" STRUCT("count" BIGINT), reposts STRUCT("count" BIGINT)
        )[])',
        error: 'JSON'
    }
)
