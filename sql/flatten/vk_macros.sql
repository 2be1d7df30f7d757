-- Helpers of the VK flattens (vk_*_observations.sql), created as temporary macros on the DuckDB
-- connection that runs them. They read VK's loosely typed answers as transforms/vk_flatten.py does.

-- A JSON value's truth as Python's bool() gives it (VK flags come as 1/0 or true/false): NULL when
-- absent or null; false for false, 0, "", [] and {}; true otherwise. Read from the value's text as
-- DuckDB writes a JSON value (compact: no spaces), without parsing it again.
CREATE OR REPLACE TEMP MACRO VK_TRUTH(value) AS  -- noqa: CP05
CASE
    WHEN value IS NULL OR CAST(value AS VARCHAR) = 'null' THEN NULL
    WHEN CAST(value AS VARCHAR) IN ('false', '""', '[]', '{}') THEN FALSE
    ELSE COALESCE(TRY_CAST(CAST(value AS VARCHAR) AS DOUBLE) <> 0, TRUE)  -- a number, or true, or more
END;

-- Whether a text holds more than whitespace (Python's str.strip(): the characters of str.isspace()).
CREATE OR REPLACE TEMP MACRO VK_HAS_TEXT(value) AS  -- noqa: CP05
COALESCE(
    REGEXP_MATCHES(
        value, '[^\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]'
    ),
    FALSE
);

-- Whether a JSON value is a non-empty list (Python's bool() of an optional list), from its compact text.
CREATE OR REPLACE TEMP MACRO VK_HAS_ITEMS(value) AS  -- noqa: CP05
COALESCE(STARTS_WITH(CAST(value AS VARCHAR), '[') AND CAST(value AS VARCHAR) <> '[]', FALSE);

-- Whether a JSON value given (not null) was lost by a lenient JSON_TRANSFORM (a number that is not).
CREATE OR REPLACE TEMP MACRO VK_LOST(value, typed) AS  -- noqa: CP05
COALESCE(CAST(value AS VARCHAR) <> 'null', FALSE) AND typed IS NULL;

-- The fields of groups.getById's groups the page flatten reads, as a JSON_TRANSFORM structure: the
-- numbers as JSON, typed afterwards, so that a number lost to the lenient transform is seen (VK_LOST).
CREATE OR REPLACE TEMP MACRO VK_GROUPS() AS  -- noqa: CP05
'[{
    "id": "BIGINT", "screen_name": "VARCHAR", "name": "VARCHAR", "members_count": "JSON",
    "is_closed": "JSON", "deactivated": "VARCHAR", "verified": "JSON", "has_photo": "JSON",
    "cover": {"enabled": "JSON"}, "description": "VARCHAR", "contacts": "JSON", "links": "JSON",
    "site": "VARCHAR", "can_message": "JSON", "wall": "JSON", "activity": "VARCHAR"
}]';
