import Crypto
import Foundation
import Vapor

/// Where original documents (invoices, later attachments of applications) are kept, outside the
/// database rows. Content-addressed by SHA-256: the same bytes are stored once, and a stored file
/// can be checked against its hash at any time. Local directory by default; an object store can
/// implement the same protocol. Several instances behind a load balancer need a shared directory.
protocol FileStorage: Sendable {
    /// Stores the bytes durably and returns the hex SHA-256 (idempotent: the same bytes once).
    func put(_ data: Data) async throws -> String
    /// The stored bytes, checked against their hash; nil when there is no such file.
    func get(_ sha256: String) async throws -> Data?
    /// Starts a streamed upload: chunks are written to a local spool file while the hash is computed.
    func beginUpload() throws -> UploadSink
    /// Makes a committed upload durable in the store (local directory: already there).
    func publish(_ sha256: String) async throws
    /// A streamed download of a stored file, nil when there is none.
    func response(_ sha256: String, for req: Request) async throws -> Response?
}

/// A file being received in chunks. `commit` makes it durable under its hash; `abort` removes it.
final class UploadSink: @unchecked Sendable {
    private let handle: FileHandle
    private let tmp: URL
    private let root: URL
    private var hasher = SHA256()
    private(set) var size = 0
    /// First bytes, to judge the kind of file by its content.
    private(set) var head: [UInt8] = []

    init(root: URL) throws {
        self.root = root
        tmp = root.appendingPathComponent(".upload-\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else { throw FileStorageError(description: "cannot create file") }
        handle = try FileHandle(forWritingTo: tmp)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if head.count < 64 { head.append(contentsOf: bytes.prefix(64 - head.count)) }
        hasher.update(bufferPointer: bytes)
        size += bytes.count
        try handle.write(contentsOf: Data(bytes))
    }

    /// Writes, fsyncs and renames to the content address; returns the hex SHA-256.
    func commit() throws -> String {
        try handle.synchronize()
        try handle.close()
        let sha = hasher.finalize().hex
        let dir = root.appendingPathComponent(String(sha.prefix(2)))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let target = dir.appendingPathComponent(sha)
        if FileManager.default.fileExists(atPath: target.path) {
            try? FileManager.default.removeItem(at: tmp)
        } else if rename(tmp.path, target.path) != 0 {
            try? FileManager.default.removeItem(at: tmp)
            throw FileStorageError(description: "cannot store file")
        }
        return sha
    }

    func abort() {
        try? handle.close()
        try? FileManager.default.removeItem(at: tmp)
    }
}

struct FileStorageError: Error, CustomStringConvertible {
    let description: String
}

struct LocalFileStorage: FileStorage {
    let root: URL

    init(root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    static func hex(_ data: Data) -> String {
        SHA256.hash(data: data).hex
    }

    func path(_ sha: String) throws -> URL {
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw FileStorageError(description: "invalid key")
        }
        return root.appendingPathComponent(String(sha.prefix(2))).appendingPathComponent(sha)
    }

    func put(_ data: Data) async throws -> String { try putSync(data) }

    func putSync(_ data: Data) throws -> String {
        let sha = Self.hex(data)
        let target = try path(sha)
        let fm = FileManager.default
        if fm.fileExists(atPath: target.path) { return sha }
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Write to a temporary name, fsync, then rename: a crash never leaves a half file under the final name.
        let tmp = target.deletingLastPathComponent().appendingPathComponent(".\(sha).\(UUID().uuidString).tmp")
        guard fm.createFile(atPath: tmp.path, contents: nil) else { throw FileStorageError(description: "cannot create file") }
        let handle = try FileHandle(forWritingTo: tmp)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? fm.removeItem(at: tmp)
            throw error
        }
        if rename(tmp.path, target.path) != 0 {
            try? fm.removeItem(at: tmp)
            if !fm.fileExists(atPath: target.path) { throw FileStorageError(description: "cannot store file") }
        }
        return sha
    }

    func get(_ sha: String) async throws -> Data? {
        let p = try path(sha)
        guard let data = FileManager.default.contents(atPath: p.path) else { return nil }
        guard Self.hex(data) == sha else { throw FileStorageError(description: "stored file does not match its hash") }
        return data
    }

    func beginUpload() throws -> UploadSink { try UploadSink(root: root) }

    func publish(_ sha: String) async throws {}

    func response(_ sha: String, for req: Request) async throws -> Response? {
        let p = try path(sha)
        guard FileManager.default.fileExists(atPath: p.path) else { return nil }
        return try await req.fileio.asyncStreamFile(at: p.path)
    }
}

struct FileStorageKey: StorageKey { typealias Value = any FileStorage }

extension Application {
    var files: any FileStorage {
        get {
            guard let s = storage[FileStorageKey.self] else { fatalError("file storage not configured") }
            return s
        }
        set { storage[FileStorageKey.self] = newValue }
    }
}
