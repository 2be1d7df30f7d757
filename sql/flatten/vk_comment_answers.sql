-- The typed read of wall.getComments' raw answers ($files, gzip JSON lines): the relation
-- vk_answers that vk_comment_observations.sql flattens (its sidecar as in vk_post_answers.sql).
SELECT
    filename AS source_file,
    observed_at,
    params,
    response,
    error
FROM READ_JSON(
    $files,
    format = 'newline_delimited',
    compression = 'gzip',
    filename = TRUE,
    columns = {
        observed_at: 'VARCHAR',
        params: 'STRUCT(owner_id BIGINT, post_id BIGINT)',
        response: 'STRUCT(items STRUCT(
            id BIGINT, "date" BIGINT, from_id BIGINT, "text" VARCHAR, parents_stack BIGINT[],
            thread STRUCT(items STRUCT(
                id BIGINT, "date" BIGINT, from_id BIGINT, "text" VARCHAR, parents_stack BIGINT[]
            )[])
        )[])',
        error: 'JSON'
    }
)
