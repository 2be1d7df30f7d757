"""OK (Odnoklassniki) pages: the signed REST client (``client``, ``signing``), the daily
extraction into the lake (``extract``, ``daily``), extraction errors in the warehouse
(``errors``) and the steps a future DAG calls (``steps``). See docs/networks.md."""
