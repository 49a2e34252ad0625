import Crypto
import Fluent
import FluentSQLiteDriver
import Foundation
import SQLKit
import Vapor

/// `rathaus backup <Ziel>` and `rathaus restore <Quelle>` for the embedded default (SQLite and the
/// local files directory). The backup is consistent while the server runs: SQLite's `VACUUM INTO`
/// writes one transaction-consistent copy, then the content-addressed files are copied (a file
/// written after the copy is not referenced by it, so nothing the copy needs is missing). The
/// manifest names the audit chain's head of the copy; a restore is accepted only when the
/// restored chain verifies and ends in that head.
public enum BackupRestore {
    struct Manifest: Codable {
        var format: Int
        var createdAt: String
        var auditEntries: Int
        var auditHead: String
        var files: Int
        var databaseSHA256: String
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static let manifestName = "rathaus-sicherung.json"

    static func sha256(file: URL) throws -> String {
        let h = try FileHandle(forReadingFrom: file)
        defer { try? h.close() }
        var hasher = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hex
    }

    /// Copies a directory tree of regular files (the files store), skipping the upload spool.
    static func copyTree(_ from: URL, _ to: URL) throws -> Int {
        let fm = FileManager.default
        try fm.createDirectory(at: to, withIntermediateDirectories: true)
        var n = 0
        guard let e = fm.enumerator(at: from, includingPropertiesForKeys: [.isDirectoryKey], options: []) else { return 0 }
        let base = from.standardizedFileURL.path
        for case let url as URL in e {
            let rel = String(url.standardizedFileURL.path.dropFirst(base.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if rel.hasPrefix(".spool") { e.skipDescendants(); continue }
            let dest = to.appendingPathComponent(rel)
            if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                try fm.createDirectory(at: dest, withIntermediateDirectories: true)
            } else {
                try fm.copyItem(at: url, to: dest)
                n += 1
            }
        }
        return n
    }

    /// Writes the backup into `target` (which must not exist or be empty).
    static func backup(_ app: Application, to target: String) async throws -> Manifest {
        let config = app.rathaus
        guard config.databaseURL == nil, let dataDir = config.dataDirectory else {
            throw Failure(description: "Mit PostgreSQL (DATABASE_URL) sichern Sie die Datenbank mit pg_dump und den Objektspeicher mit dessen Versionierung; siehe README, Abschnitt „Sicherung“.")
        }
        let fm = FileManager.default
        let dir = URL(fileURLWithPath: target)
        if fm.fileExists(atPath: dir.path) {
            guard (try fm.contentsOfDirectory(atPath: dir.path)).isEmpty else { throw Failure(description: "Das Ziel \(target) ist nicht leer. Bitte geben Sie ein neues Verzeichnis an.") }
        } else {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let dbCopy = dir.appendingPathComponent("rathaus.sqlite")
        guard let sql = app.db as? any SQLDatabase else { throw Failure(description: "Keine SQL-Datenbank.") }
        // one consistent copy, taken while the server may keep writing
        try await sql.raw("VACUUM INTO \(unsafeRaw: "'" + dbCopy.path.replacingOccurrences(of: "'", with: "''") + "'")").run()
        // the copy's own audit head, read from the copy
        let id = DatabaseID(string: "sicherung-\(UUID().uuidString)")
        app.databases.use(.sqlite(.file(dbCopy.path)), as: id)
        guard let copyDB = app.databases.database(id, logger: app.logger, on: app.eventLoopGroup.any()) else { throw Failure(description: "Die Kopie lässt sich nicht öffnen.") }
        let result = try await Audit.verify(on: copyDB)
        if let broken = result.firstBroken { throw Failure(description: "Die Audit-Kette der Kopie ist bei Eintrag \(broken.seq) gebrochen: \(broken.reason)") }
        var files = -1
        if config.s3 == nil {
            let filesDir = URL(fileURLWithPath: config.filesDirectory ?? dataDir + "/dateien")
            files = fm.fileExists(atPath: filesDir.path) ? try copyTree(filesDir, dir.appendingPathComponent("dateien")) : 0
        }
        for path in [config.auditKeyPath, config.auditKeyPath + ".checkpoints", config.secretKeyPath] where fm.fileExists(atPath: path) {
            try fm.copyItem(at: URL(fileURLWithPath: path), to: dir.appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent))
        }
        let m = Manifest(format: 1, createdAt: Audit.timestamp(Date()), auditEntries: result.checked, auditHead: result.head, files: files,
                         databaseSHA256: try sha256(file: dbCopy))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(m).write(to: dir.appendingPathComponent(manifestName))
        return m
    }

    /// Copies a backup into the configured data directory (which must hold no database yet) and
    /// returns the audit head the restored installation must show. Runs before the app starts,
    /// so nothing opens the database while it is being put in place.
    public static func restoreFiles(from source: String) throws -> String {
        try restoreFiles(from: source, into: RathausConfig.fromEnvironment(demo: false))
    }

    static func restoreFiles(from source: String, into config: RathausConfig) throws -> String {
        guard config.databaseURL == nil, let dataDir = config.dataDirectory else {
            throw Failure(description: "Eine Sicherung für PostgreSQL spielen Sie mit pg_restore ein; siehe README, Abschnitt „Sicherung“.")
        }
        let fm = FileManager.default
        let src = URL(fileURLWithPath: source)
        guard let data = fm.contents(atPath: src.appendingPathComponent(manifestName).path),
              let m = try? JSONDecoder().decode(Manifest.self, from: data), m.format == 1 else {
            throw Failure(description: "In \(source) liegt keine Rathaus-Sicherung (\(manifestName) fehlt oder ist unlesbar).")
        }
        let db = src.appendingPathComponent("rathaus.sqlite")
        guard try sha256(file: db) == m.databaseSHA256 else {
            throw Failure(description: "Die Datenbank der Sicherung ist beschädigt oder verändert (Prüfsumme stimmt nicht mit \(manifestName) überein).")
        }
        let target = URL(fileURLWithPath: dataDir)
        guard !fm.fileExists(atPath: target.appendingPathComponent("rathaus.sqlite").path) else {
            throw Failure(description: "Im Datenverzeichnis \(dataDir) liegt bereits eine Datenbank. Stellen Sie in ein leeres Verzeichnis wieder her (RATHAUS_DATA_DIR).")
        }
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        try fm.copyItem(at: db, to: target.appendingPathComponent("rathaus.sqlite"))
        let files = src.appendingPathComponent("dateien")
        if fm.fileExists(atPath: files.path), config.s3 == nil {
            _ = try copyTree(files, URL(fileURLWithPath: config.filesDirectory ?? dataDir + "/dateien"))
        }
        let keyName = URL(fileURLWithPath: config.auditKeyPath).lastPathComponent
        for (name, dest) in [("audit-signing.key", config.auditKeyPath), ("audit-signing.key.checkpoints", config.auditKeyPath + ".checkpoints"),
                             (keyName, config.auditKeyPath), ("secrets.key", config.secretKeyPath),
                             (URL(fileURLWithPath: config.secretKeyPath).lastPathComponent, config.secretKeyPath)] {
            let from = src.appendingPathComponent(name)
            if fm.fileExists(atPath: from.path), !fm.fileExists(atPath: dest) { try fm.copyItem(at: from, to: URL(fileURLWithPath: dest)) }
        }
        return m.auditHead
    }
}

/// `rathaus backup <Zielverzeichnis>`
struct BackupCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "ziel", help: "neues oder leeres Verzeichnis für die Sicherung")
        var target: String
    }

    var help: String { "Sichert Datenbank (SQLite), Dateien und Audit-Schlüssel konsistent im laufenden Betrieb." }

    func run(using context: CommandContext, signature: Signature) async throws {
        do {
            let m = try await BackupRestore.backup(context.application, to: signature.target)
            context.console.print("Sicherung in \(signature.target): \(m.auditEntries) Audit-Einträge, Kopf \(m.auditHead), \(m.files < 0 ? "Dateien im Objektspeicher (nicht kopiert)" : "\(m.files) Dateien").")
        } catch let e as BackupRestore.Failure {
            throw CommandFailure(message: e.description)
        }
    }
}
