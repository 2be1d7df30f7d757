"""Telegram public channels over MTProto with Telethon: the reader (``client``), one day of every
channel into the lake (``extract``, ``daily``), extraction errors in the warehouse (``errors``) and
the steps a future DAG calls (``steps``). See docs/networks.md, "Telegram"."""
