"""MAX channels: the Bot API client (``client``), the daily extraction into the lake
(``extract``, ``daily``), extraction errors in the warehouse (``errors``) and the steps a future
DAG calls (``steps``). See docs/networks.md."""
