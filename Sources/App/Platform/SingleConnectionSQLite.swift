import Fluent
import FluentSQLiteDriver
import NIOCore
import SQLKit
import Vapor

/// SQLite allows one writer. The SQLite driver keeps one connection per event loop, so on a
/// two-core machine two connections wrote at once, and a transaction that read first and then
/// wrote was told "database is locked" (HTTP 500) instead of waiting — measured in issue 13:
/// 52 of 85 logins failed with six invoice writers running. Remembering to route each write through
/// a gate did not hold, so this makes it impossible by construction: every database handle of the
/// SQLite configuration uses one event loop and therefore the pool's one connection. Statements and
/// whole transactions queue for that connection in order (the pool's wait is the write queue);
/// nothing in the process can open a second writer. PostgreSQL is not affected.
///
/// A second process on the same file (the `rathaus` command line while the server runs) is the
/// only other writer; for it the connection waits (`busy_timeout`) and WAL lets readers continue.
struct SingleConnectionSQLiteConfiguration: DatabaseConfiguration {
    var inner: any DatabaseConfiguration
    var middleware: [any AnyModelMiddleware] {
        get { inner.middleware }
        set { inner.middleware = newValue }
    }

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        let loop = databases.eventLoopGroup.next()
        // The inner driver builds its connection pool over exactly this one event loop.
        let single = Databases(threadPool: databases.threadPool, on: loop)
        return SingleLoopDriver(inner: inner.makeDriver(for: single), loop: loop)
    }
}

struct SingleLoopDriver: DatabaseDriver {
    let inner: any DatabaseDriver
    let loop: any EventLoop

    func makeDatabase(with context: DatabaseContext) -> any Database {
        inner.makeDatabase(with: DatabaseContext(configuration: context.configuration, logger: context.logger, eventLoop: loop,
                                                 history: context.history, pageSizeLimit: context.pageSizeLimit, shouldTrace: context.shouldTrace))
    }

    func shutdown() { inner.shutdown() }
    func shutdownAsync() async { await inner.shutdownAsync() }
}

extension DatabaseConfigurationFactory {
    /// SQLite through one connection (see `SingleConnectionSQLiteConfiguration`). Callers waiting for
    /// the connection queue for up to `wait`; a transaction holds it until it commits.
    static func singleConnectionSQLite(_ storage: SQLiteConfiguration, wait: TimeAmount = .seconds(30)) -> Self {
        .init {
            SingleConnectionSQLiteConfiguration(inner: DatabaseConfigurationFactory.sqlite(storage, connectionPoolTimeout: wait).make())
        }
    }
}

extension Application {
    /// On a SQLite file: WAL (readers of another process do not block the writer) and a busy
    /// timeout for the case that another process (the command line) writes at the same moment.
    /// Runs once on the one connection, which the pool keeps open.
    func prepareSQLite() async throws {
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite", rathaus.databaseURL == nil,
              rathaus.dataDirectory != nil else { return }
        try await sql.raw("PRAGMA busy_timeout = 10000").run()
        try await sql.raw("PRAGMA journal_mode = WAL").run()
        try await sql.raw("PRAGMA synchronous = NORMAL").run()
    }
}
