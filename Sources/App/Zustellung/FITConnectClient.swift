import Fluent
import FITConnect
import Foundation
import JOSE
import NIOConcurrencyHelpers
import Vapor

/// Why a call to the Zustelldienst failed, for the retry decision and the tenant's status page.
struct FITConnectFailure: Error, CustomStringConvertible {
    /// HTTP status, or 0 when the Zustelldienst was not reachable.
    let status: Int
    let text: String
    /// The answer was larger than the caller reads (an oversized part, not a passing failure).
    var tooLarge = false
    /// Worth trying again later (unreachable, 5xx, 429); 4xx are the sender's mistake.
    var transient: Bool { status == 0 || status >= 500 || status == 429 || status == 401 }
    var description: String { status == 0 ? "Zustelldienst nicht erreichbar: \(text)" : "Zustelldienst antwortete \(status): \(text)" }
}

/// Access tokens of the OAuth2 client-credentials flow, kept in memory until shortly before they
/// expire (each instance asks for its own; they are cheap and never stored).
final class FITConnectTokens: @unchecked Sendable {
    private let lock = NIOLock()
    private var tokens: [String: (token: String, until: Date)] = [:]

    func cached(_ key: String, now: Date) -> String? {
        lock.withLock { tokens[key].flatMap { $0.until > now ? $0.token : nil } }
    }
    func store(_ key: String, token: String, until: Date) { lock.withLock { tokens[key] = (token, until) } }
    func drop(_ key: String) { _ = lock.withLock { tokens.removeValue(forKey: key) } }
}

private struct FITConnectTokensKey: StorageKey { typealias Value = FITConnectTokens }

extension Application {
    var fitConnectTokens: FITConnectTokens {
        if let t = storage[FITConnectTokensKey.self] { return t }
        let t = FITConnectTokens()
        storage[FITConnectTokensKey.self] = t
        return t
    }
}

/// One tenant's connection to a Zustelldienst: the OAuth client and the API adapter. Every path
/// comes from the adapter (`SubmissionAPIV1`), so a newer API line only swaps `api`.
struct FITConnectClient: Sendable {
    let app: Application
    let baseURL: String
    let tokenURL: String
    let clientID: String
    let clientSecret: String
    var api: any SubmissionAPI = SubmissionAPIV1()
    /// Bytes accepted in one answer (an attachment JWE of 20 MB inflates by a third in base64url).
    var maxAnswer = 40 * 1024 * 1024

    static func load(_ app: Application, tenant: String, role: String, on db: any Database) async throws -> FITConnectClient? {
        guard let acc = try await FITConnectAccount.query(on: db).filter(\.$tenantARS == tenant).filter(\.$role == role).first() else { return nil }
        let secret = try app.secretBox().openText(acc.sealedSecret, context: FITConnectAccount.context(tenant, role))
        return FITConnectClient(app: app, baseURL: acc.baseURL, tokenURL: acc.tokenURL, clientID: acc.clientID, clientSecret: secret)
    }

    private var tokenKey: String { tokenURL + "|" + clientID }

    func token() async throws -> String {
        if let t = app.fitConnectTokens.cached(tokenKey, now: Date()) { return t }
        let basic = Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        let res: ClientResponse
        do {
            res = try await app.client.post(URI(string: tokenURL)) { req in
                req.headers.replaceOrAdd(name: .authorization, value: "Basic \(basic)")
                req.headers.contentType = .urlEncodedForm
                req.body = ByteBuffer(string: "grant_type=client_credentials")
            }
        } catch { throw FITConnectFailure(status: 0, text: String(describing: error).prefix(200).description) }
        guard res.status == .ok, let body = res.body, body.readableBytes < 64 * 1024 else {
            throw FITConnectFailure(status: Int(res.status.code), text: "Zugangstoken nicht erhalten")
        }
        struct Answer: Decodable { let access_token: String; let expires_in: Int? }
        guard let a = try? JSONDecoder().decode(Answer.self, from: Data(buffer: body)) else {
            throw FITConnectFailure(status: 502, text: "Antwort des Token-Endpunkts unlesbar")
        }
        app.fitConnectTokens.store(tokenKey, token: a.access_token, until: Date().addingTimeInterval(TimeInterval(max(30, (a.expires_in ?? 300) - 60))))
        return a.access_token
    }

    /// One API call; answers outside 2xx become `FITConnectFailure` with the problem's detail.
    func call(_ e: Endpoint, body: Data? = nil, authorised: Bool = true) async throws -> Data {
        let token = authorised ? try await token() : nil
        let uri = URI(string: baseURL + e.path)
        let res: ClientResponse
        do {
            res = try await app.client.send(HTTPMethod(rawValue: e.method.rawValue), to: uri) { req in
                if let token { req.headers.replaceOrAdd(name: .authorization, value: "Bearer \(token)") }
                if let ct = e.contentType, let body {
                    req.headers.replaceOrAdd(name: .contentType, value: ct)
                    req.body = ByteBuffer(data: body)
                }
            }
        } catch { throw FITConnectFailure(status: 0, text: String(describing: error).prefix(200).description) }
        let data = res.body.map { Data(buffer: $0) } ?? Data()
        guard data.count <= maxAnswer else { throw FITConnectFailure(status: 502, text: "Antwort zu groß", tooLarge: true) }
        guard (200..<300).contains(Int(res.status.code)) else {
            if res.status == .unauthorized { app.fitConnectTokens.drop(tokenKey) }
            struct Problem: Decodable { let title: String?; let detail: String? }
            let p = try? JSONDecoder().decode(Problem.self, from: data)
            // the call is named (paths hold only UUIDs): the tenant page and the log say what failed
            throw FITConnectFailure(status: Int(res.status.code), text: "\(e.method.rawValue) \(e.path.split(separator: "?").first ?? ""): " + String((p?.detail ?? p?.title ?? res.status.reasonPhrase).prefix(300)))
        }
        return data
    }

    func json<T: Decodable>(_ type: T.Type, _ e: Endpoint, body: Data? = nil, authorised: Bool = true) async throws -> T {
        let data = try await call(e, body: body, authorised: authorised)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw FITConnectFailure(status: 502, text: "Antwort des Zustelldienstes unlesbar (\(T.self))")
        }
    }

    /// The Zustelldienst's own signing keys (they sign `submit-submission`).
    func zustelldienstKeys() async throws -> [JWK] {
        try await json(JWKS.self, api.jwks, authorised: false).keys
    }

    /// A destination's public key by kid (its encryption key, or the signing key of its SETs).
    func destinationKey(_ destination: String, kid: String) async throws -> JWK {
        try await json(JWK.self, api.destinationKey(destination: destination, kid: kid))
    }

    /// The verified event log of a case: every SET checked against the Zustelldienst's keys or the
    /// destination's signing key; a token that does not verify is left out (and counted).
    func eventLog(case caseID: String, destination: String) async throws -> (events: [SecurityEvent], unverified: Int) {
        struct Log: Decodable { let eventLog: [String] }
        let log = try await json(Log.self, api.events(case: caseID))
        var keys = try await zustelldienstKeys()
        var out: [SecurityEvent] = [], bad = 0
        for token in log.eventLog.prefix(200) {
            if let kid = try? JWS.header(of: token).kid, !keys.contains(where: { $0.kid == kid }),
               let k = try? await destinationKey(destination, kid: kid) {
                keys.append(k)
            }
            if let e = try? SecurityEvent.verify(token, keys: keys) { out.append(e) } else { bad += 1 }
        }
        return (out, bad)
    }
}
