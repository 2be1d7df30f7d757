-- Helpers of the VK flattens (vk_*_observations.sql), created as temporary macros on the DuckDB
-- connection that runs them. They read VK's loosely typed answers as transforms/vk_flatten.py does.

-- A JSON value's truth as Python's bool() gives it (VK flags come as 1/0 or true/false): NULL when
-- absent or null; false for false, 0, "", [] and {}; true otherwise.
CREATE OR REPLACE TEMP MACRO VK_TRUTH(value) AS  -- noqa: CP05
CASE JSON_TYPE(value)
    WHEN 'BOOLEAN' THEN TRY_CAST(value AS BOOLEAN)
    WHEN 'VARCHAR' THEN LENGTH(value ->> '$') > 0
    WHEN 'ARRAY' THEN JSON_ARRAY_LENGTH(value) > 0
    WHEN 'OBJECT' THEN LEN(JSON_KEYS(value)) > 0
    WHEN 'NULL' THEN NULL
    ELSE TRY_CAST(value AS DOUBLE) <> 0
END;

-- Whether a text holds more than whitespace (Python's str.strip(): the characters of str.isspace()).
CREATE OR REPLACE TEMP MACRO VK_HAS_TEXT(value) AS  -- noqa: CP05
COALESCE(
    REGEXP_MATCHES(
        value, '[^\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]'
    ),
    FALSE
);

-- Whether a JSON value is a non-empty list (Python's bool() of an optional list).
CREATE OR REPLACE TEMP MACRO VK_HAS_ITEMS(value) AS  -- noqa: CP05
COALESCE(JSON_ARRAY_LENGTH(value) > 0, FALSE);

-- Whether a JSON value given (not null) was lost by a lenient JSON_TRANSFORM (a number that is not).
CREATE OR REPLACE TEMP MACRO VK_LOST(value, typed) AS  -- noqa: CP05
COALESCE(JSON_TYPE(value) <> 'NULL', FALSE) AND typed IS NULL;
