"""What the DAG files share: default arguments and alerts, and the Assets of the model graph."""
