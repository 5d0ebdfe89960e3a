/// Everything a hub needs from its database: the roles together. SQLite and
/// PostgreSQL implement all of it; each caller asks for the narrowest role it
/// uses, so what a part of the hub may do to the store reads off its type.
public protocol TelemetryStore: IngestStore, ReadStore, TokenStore, DeviceCatalog, AlertStore, CommandStore, StateStore, StoreMaintenance {}
