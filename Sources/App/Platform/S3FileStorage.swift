import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Vapor

/// Connection to an S3-compatible object store (`RATHAUS_S3_*`).
struct S3Config: Sendable {
    /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:9000`; path-style addressing.
    var endpoint: String
    var bucket: String
    var region: String
    var accessKey: String
    var secretKey: String
    /// Key prefix inside the bucket.
    var prefix = "dateien/"
}

/// AWS Signature Version 4 for S3 requests (header authentication).
struct SigV4: Sendable {
    let accessKey: String
    let secretKey: String
    let region: String
    static let emptyHash = SHA256.hash(data: Data()).hex

    /// RFC 3986 unreserved characters stay, everything else is percent-encoded (slashes kept in paths).
    static func encode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c) || (keepSlash && c == "/")) { out.append(c) }
            else { out += String(format: "%%%02X", b) }
        }
        return out
    }

    /// Adds `x-amz-date`, `x-amz-content-sha256` and `Authorization` to `headers`.
    func sign(method: String, host: String, path: String, query: [(String, String)], headers: inout HTTPHeaders, payloadHash: String, now: Date = Date()) {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        let day = String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        let amzDate = day + String(format: "T%02d%02d%02dZ", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        headers.replaceOrAdd(name: "x-amz-date", value: amzDate)
        headers.replaceOrAdd(name: "x-amz-content-sha256", value: payloadHash)
        headers.replaceOrAdd(name: "host", value: host)
        let signed = ["host", "x-amz-content-sha256", "x-amz-date"]
        let canonicalHeaders = signed.map { "\($0):\(headers.first(name: $0)?.trimmingCharacters(in: .whitespaces) ?? "")\n" }.joined()
        let canonicalQuery = query.map { (Self.encode($0.0, keepSlash: false), Self.encode($0.1, keepSlash: false)) }
            .sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonical = [method, Self.encode(path, keepSlash: true), canonicalQuery, canonicalHeaders, signed.joined(separator: ";"), payloadHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/s3/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonical.utf8)).hex].joined(separator: "\n")
        func hmac(_ key: SymmetricKey, _ s: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(s.utf8), using: key)))
        }
        let kSigning = hmac(hmac(hmac(hmac(SymmetricKey(data: Data("AWS4\(secretKey)".utf8)), day), region), "s3"), "aws4_request")
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: kSigning)).hex
        headers.replaceOrAdd(name: "Authorization",
                             value: "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)")
    }
}

/// Files in an S3-compatible object store, for several machines behind a load balancer.
/// Keys are content addresses (`dateien/ab/<sha256>`); every read is checked against the hash.
/// Uploads of forms are spooled to a local file while they arrive (hash computed on the way) and
/// then sent in parts of 8 MB, so no file is ever held in memory as a whole.
struct S3FileStorage: FileStorage {
    let config: S3Config
    let client: HTTPClient
    let spool: URL
    let signer: SigV4
    static let partSize = 8 * 1024 * 1024

    init(config: S3Config, client: HTTPClient, spool: URL) throws {
        self.config = config
        self.client = client
        self.spool = spool
        self.signer = SigV4(accessKey: config.accessKey, secretKey: config.secretKey, region: config.region)
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
    }

    func key(_ sha: String) throws -> String {
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw FileStorageError(description: "invalid key") }
        return "\(config.prefix)\(sha.prefix(2))/\(sha)"
    }

    var base: (scheme: String, host: String) {
        let parts = config.endpoint.components(separatedBy: "://")
        let host = (parts.count == 2 ? parts[1] : parts[0]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return (parts.count == 2 ? parts[0] : "https", host)
    }

    /// One signed request; `body` is sent as given (bounded by the caller).
    func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], body: ByteBuffer? = nil, payloadHash: String? = nil,
              timeout: TimeAmount = .seconds(120)) async throws -> HTTPClientResponse {
        let path = "/\(config.bucket)" + (key.map { "/\($0)" } ?? "")
        var headers = HTTPHeaders()
        let hash = payloadHash ?? body.map { SHA256.hash(data: Data($0.readableBytesView)).hex } ?? SigV4.emptyHash
        signer.sign(method: method.rawValue, host: base.host, path: path, query: query, headers: &headers, payloadHash: hash)
        let q = query.map { "\(SigV4.encode($0.0, keepSlash: false))=\(SigV4.encode($0.1, keepSlash: false))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: "\(base.scheme)://\(base.host)\(SigV4.encode(path, keepSlash: true))\(q.isEmpty ? "" : "?" + q)")
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        return try await client.execute(request, timeout: timeout)
    }

    /// A request whose answer is read completely (small bodies), so the connection goes back to the pool.
    func call(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], body: ByteBuffer? = nil, payloadHash: String? = nil) async throws -> (status: HTTPResponseStatus, headers: HTTPHeaders, text: String) {
        let r = try await send(method, key: key, query: query, body: body, payloadHash: payloadHash)
        let buffer = try await r.body.collect(upTo: 1 << 20)
        return (r.status, r.headers, String(buffer: buffer))
    }

    static func failure(_ what: String, _ r: HTTPClientResponse) async -> FileStorageError {
        let text = (try? await r.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
        return FileStorageError(description: "S3 \(what): HTTP \(r.status.code) \(text.prefix(300))")
    }

    /// The bucket answers (checked at start, so a wrong setting fails loudly instead of on the first upload).
    func checkBucket() async throws {
        let r = try await call(.HEAD, key: nil)
        guard r.status == .ok else { throw FileStorageError(description: "S3 Bucket \(config.bucket): HTTP \(r.status.code)") }
    }

    func exists(_ sha: String) async throws -> Bool {
        let r = try await call(.HEAD, key: try key(sha))
        if r.status == .ok { return true }
        if r.status == .notFound { return false }
        throw FileStorageError(description: "S3 HEAD: HTTP \(r.status.code)")
    }

    func put(_ data: Data) async throws -> String {
        let sha = SHA256.hash(data: data).hex
        if try await exists(sha) { return sha }
        if data.count <= Self.partSize {
            try await putObject(sha, ByteBuffer(data: data), hash: sha)
        } else {
            var offset = 0
            try await multipart(sha) {
                guard offset < data.count else { return nil }
                let end = min(offset + Self.partSize, data.count)
                defer { offset = end }
                return ByteBuffer(data: data[offset..<end])
            }
        }
        return sha
    }

    func putObject(_ sha: String, _ body: ByteBuffer, hash: String) async throws {
        // the signed payload hash is the content address: S3 refuses bytes that do not match it
        let r = try await call(.PUT, key: try key(sha), body: body, payloadHash: hash)
        guard r.status == .ok else { throw FileStorageError(description: "S3 PUT: HTTP \(r.status.code) \(r.text.prefix(300))") }
    }

    /// Multipart upload from a source of parts (nil = done); aborted on any failure.
    func multipart(_ sha: String, next: () throws -> ByteBuffer?) async throws {
        let k = try key(sha)
        let start = try await call(.POST, key: k, query: [("uploads", "")])
        guard start.status == .ok, let id = Self.element("UploadId", in: start.text) else { throw FileStorageError(description: "S3 multipart start: HTTP \(start.status.code)") }
        do {
            var etags: [String] = []
            while let part = try next() {
                let r = try await call(.PUT, key: k, query: [("partNumber", "\(etags.count + 1)"), ("uploadId", id)], body: part)
                guard r.status == .ok, let etag = r.headers.first(name: "ETag") else { throw FileStorageError(description: "S3 Teil \(etags.count + 1): HTTP \(r.status.code)") }
                etags.append(etag)
            }
            let done = "<CompleteMultipartUpload>" + etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(Self.xmlEscape($0.element))</ETag></Part>" }.joined() + "</CompleteMultipartUpload>"
            let r = try await call(.POST, key: k, query: [("uploadId", id)], body: ByteBuffer(string: done))
            let answer = r.text
            guard r.status == .ok, !answer.contains("<Error>") else { throw FileStorageError(description: "S3 multipart complete: HTTP \(r.status.code) \(answer.prefix(200))") }
        } catch {
            _ = try? await call(.DELETE, key: k, query: [("uploadId", id)])
            throw error
        }
    }

    static func element(_ name: String, in xml: String) -> String? {
        guard let a = xml.range(of: "<\(name)>"), let b = xml.range(of: "</\(name)>", range: a.upperBound..<xml.endIndex) else { return nil }
        return String(xml[a.upperBound..<b.lowerBound])
    }

    static func xmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "<", with: "&lt;")
    }

    /// Sends a file from disk (a spooled upload or a local store being migrated), part by part.
    func upload(file url: URL, sha: String) async throws {
        if try await exists(sha) { return }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = Int((try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0)
        if size <= Self.partSize {
            let data = try handle.read(upToCount: Self.partSize) ?? Data()
            guard SHA256.hash(data: data).hex == sha else { throw FileStorageError(description: "local file does not match its hash") }
            try await putObject(sha, ByteBuffer(data: data), hash: sha)
        } else {
            try await multipart(sha) {
                guard let chunk = try handle.read(upToCount: Self.partSize), !chunk.isEmpty else { return nil }
                return ByteBuffer(data: chunk)
            }
        }
    }

    func beginUpload() throws -> UploadSink { try UploadSink(root: spool) }

    /// A committed upload lies in the spool under its hash; it goes to the store and leaves the disk.
    func publish(_ sha: String) async throws {
        let local = spool.appendingPathComponent(String(sha.prefix(2))).appendingPathComponent(sha)
        guard FileManager.default.fileExists(atPath: local.path) else {
            if try await exists(sha) { return }
            throw FileStorageError(description: "spooled upload missing")
        }
        try await upload(file: local, sha: sha)
        try? FileManager.default.removeItem(at: local)
    }

    func get(_ sha: String) async throws -> Data? {
        let r = try await send(.GET, key: try key(sha))
        if r.status == .notFound { _ = try? await r.body.collect(upTo: 1 << 20); return nil }
        guard r.status == .ok else { throw await Self.failure("GET", r) }
        var hasher = SHA256()
        var data = Data()
        for try await chunk in r.body {
            hasher.update(data: Data(chunk.readableBytesView))
            data.append(contentsOf: chunk.readableBytesView)
        }
        guard hasher.finalize().hex == sha else { throw FileStorageError(description: "stored object does not match its hash") }
        return data
    }

    /// Streams the object to the client while hashing it; a mismatch ends the response with an
    /// error (the client sees a broken download, never silently wrong bytes).
    func response(_ sha: String, for req: Request) async throws -> Response? {
        let r = try await send(.GET, key: try key(sha), timeout: .minutes(30))
        if r.status == .notFound { _ = try? await r.body.collect(upTo: 1 << 20); return nil }
        guard r.status == .ok else { throw await Self.failure("GET", r) }
        let length = r.headers.first(name: "Content-Length").flatMap(Int.init) ?? -1
        let res = Response(status: .ok)
        res.body = .init(managedAsyncStream: { writer in
            var hasher = SHA256()
            for try await chunk in r.body {
                hasher.update(data: Data(chunk.readableBytesView))
                try await writer.writeBuffer(chunk)
            }
            guard hasher.finalize().hex == sha else { throw FileStorageError(description: "stored object does not match its hash") }
        }, count: length)
        return res
    }
}

/// `rathaus dateien migrieren`: copies the local store to the configured object storage, checks
/// every file's hash on both sides, and can be run again after an interruption (what is there and
/// correct is skipped, what is missing or wrong is sent again).
struct FilesCommand: AsyncCommandGroup {
    var help: String { "Dateiablage: migrieren (lokales Verzeichnis → Objektspeicher, mit Prüfung jeder Datei)." }
    var commands: [String: any AnyAsyncCommand] { ["migrieren": FilesMigrateCommand()] }
}

struct FilesMigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "von", help: "lokales Dateiverzeichnis (Standard: RATHAUS_FILES_DIR bzw. <Datenverzeichnis>/dateien)")
        var from: String?
    }
    var help: String { "Kopiert alle Dateien in den Objektspeicher (RATHAUS_S3_*) und prüft jede per SHA-256; wiederaufnehmbar." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        guard let s3 = app.files as? S3FileStorage else {
            throw CommandFailure(message: "Kein Objektspeicher eingerichtet: bitte RATHAUS_S3_ENDPOINT, RATHAUS_S3_BUCKET, RATHAUS_S3_ACCESS_KEY und RATHAUS_S3_SECRET_KEY setzen.")
        }
        let config = RathausConfig.fromEnvironment(demo: false)
        let dir = signature.from ?? config.filesDirectory ?? config.dataDirectory.map { $0 + "/dateien" } ?? "rathaus-data/dateien"
        let root = URL(fileURLWithPath: dir)
        let fm = FileManager.default
        var copied = 0, present = 0, failed: [String] = []
        let prefixes = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.count == 2 }.sorted()
        for p in prefixes {
            for name in ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(p).path)) ?? []).sorted() where name.count == 64 && name.hasPrefix(p) {
                let url = root.appendingPathComponent(p).appendingPathComponent(name)
                do {
                    // the local copy first: a damaged local file is reported, not copied
                    guard try Self.hash(url) == name else { failed.append("\(name): lokale Datei passt nicht zu ihrem Hash"); continue }
                    var wasThere = try await s3.exists(name)
                    if wasThere {
                        // present from an earlier run: read back and check, send again when wrong
                        if (try? await s3.get(name)) == nil { wasThere = false }
                    }
                    if !wasThere {
                        try await s3.multipartOrPut(file: url, sha: name)
                        guard try await s3.get(name) != nil else { failed.append("\(name): im Objektspeicher nicht lesbar"); continue }
                        copied += 1
                    } else {
                        present += 1
                    }
                    if (copied + present) % 100 == 0 { context.console.print("… \(copied + present) Dateien geprüft") }
                } catch {
                    failed.append("\(name): \(error)")
                }
            }
        }
        context.console.print("Kopiert und geprüft: \(copied), schon vorhanden und geprüft: \(present), Fehler: \(failed.count)")
        for f in failed.prefix(20) { context.console.print("  \(f)") }
        if !failed.isEmpty { throw CommandFailure(message: "Nicht alle Dateien sind übertragen; bitte den Befehl erneut ausführen.") }
    }

    /// SHA-256 of a file, read in 1 MB blocks.
    static func hash(_ url: URL) throws -> String {
        let h = try FileHandle(forReadingFrom: url)
        defer { try? h.close() }
        var hasher = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hex
    }
}

extension S3FileStorage {
    /// Sends a local file even when an object of that name exists (it failed its check).
    func multipartOrPut(file url: URL, sha: String) async throws {
        let size = Int((try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        if size <= Self.partSize {
            try await putObject(sha, ByteBuffer(data: try handle.read(upToCount: Self.partSize) ?? Data()), hash: sha)
        } else {
            try await multipart(sha) {
                guard let chunk = try handle.read(upToCount: Self.partSize), !chunk.isEmpty else { return nil }
                return ByteBuffer(data: chunk)
            }
        }
    }
}
