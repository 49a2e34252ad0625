import Crypto
import Foundation
import Vapor

/// A key kept in a file outside the database: base64 text, created once with `O_EXCL` (when two
/// instances start at once exactly one key is written and both read it) and mode 0600 (readable
/// by the service account only). A database dump alone therefore never holds what it protects.
enum KeyFile {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func loadOrCreate(_ path: String, what: String, generate: () -> Data) throws -> Data {
        if let data = FileManager.default.contents(atPath: path) {
            guard let raw = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), !raw.isEmpty else {
                throw Failure(description: "\(what) (\(path)) ist unlesbar.")
            }
            return raw
        }
        let raw = generate()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        if fd < 0 {
            if errno == EEXIST { return try loadOrCreate(path, what: what, generate: generate) }
            throw Failure(description: "\(what) kann nicht in \(path) angelegt werden.")
        }
        let text = Array(raw.base64EncodedString().utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == text.count else { throw Failure(description: "\(what) konnte nicht vollständig geschrieben werden (\(path)).") }
        return raw
    }
}

/// Secrets the platform must keep in its database but never in plain text there: OAuth client
/// secrets of FIT-Connect, private keys of destinations. AES-256-GCM with a key from
/// `RATHAUS_SECRET_KEY` (default `<data dir>/secrets.key`); the *context* (what the secret is and
/// whose it is, e.g. `fitconnect-client:160510000000`) is authenticated data, so a sealed value
/// copied into another row or another tenant does not open.
struct SecretBox: Sendable {
    static let prefix = "rsb1."
    private let key: SymmetricKey

    init(key: SymmetricKey) { self.key = key }

    static func load(path: String) throws -> SecretBox {
        let raw = try KeyFile.loadOrCreate(path, what: "Der Schlüssel für gespeicherte Geheimnisse") {
            SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        }
        guard raw.count == 32 else { throw KeyFile.Failure(description: "Der Schlüssel für gespeicherte Geheimnisse (\(path)) hat nicht 256 Bit.") }
        return SecretBox(key: SymmetricKey(data: raw))
    }

    func seal(_ plain: Data, context: String) throws -> String {
        let box = try AES.GCM.seal(plain, using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw SecretBoxError.unreadable }
        return Self.prefix + combined.base64EncodedString()
    }

    func seal(_ text: String, context: String) throws -> String { try seal(Data(text.utf8), context: context) }

    func open(_ sealed: String, context: String) throws -> Data {
        guard sealed.hasPrefix(Self.prefix), let combined = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))),
              let box = try? AES.GCM.SealedBox(combined: combined),
              let plain = try? AES.GCM.open(box, using: key, authenticating: Data(context.utf8)) else {
            throw SecretBoxError.unreadable
        }
        return plain
    }

    func openText(_ sealed: String, context: String) throws -> String { String(decoding: try open(sealed, context: context), as: UTF8.self) }
}

enum SecretBoxError: Error, CustomStringConvertible {
    case unreadable
    var description: String {
        "Ein gespeichertes Geheimnis lässt sich nicht öffnen (falscher Schlüssel in RATHAUS_SECRET_KEY oder verändert)."
    }
}

private struct SecretBoxKey: StorageKey { typealias Value = SecretBox }

extension Application {
    /// The installation's secret box, loaded (or created) on first use.
    func secretBox() throws -> SecretBox {
        if let box = storage[SecretBoxKey.self] { return box }
        let box = try SecretBox.load(path: rathaus.secretKeyPath)
        storage[SecretBoxKey.self] = box
        return box
    }
}
