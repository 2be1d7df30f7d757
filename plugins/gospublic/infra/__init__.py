"""What every pipeline stands on: settings, connections, the warehouse and lake adapters, the SQL
model graph and runner, migrations, audit records, validation and worker pools."""
