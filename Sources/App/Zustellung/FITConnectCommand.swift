import Crypto
import CryptoExtras
import Fluent
import Foundation
import JOSE
import Vapor

/// `rathaus fitconnect …` — what the provider's IT sets up for a tenant:
///
///     rathaus fitconnect keys --name gotha --ausgabe /sicher/
///         new RSA-4096 encryption and signing keys: gotha.jwks.json (public, for the
///         Zustelldienst's self-service portal) and gotha.privat (sealed with the secret box)
///     rathaus fitconnect keys --name gotha --ausgabe /sicher/ --verschluesselung enc.pem --signatur sig.pem
///         the same from existing private keys (PEM or private JWK, RSA ≥ 4096 bits)
///     rathaus fitconnect zugang --mandant 160670029029 --rolle sender|subscriber --url https://… \
///         [--token-url https://…/token] --client-id ID   (secret from FITCONNECT_CLIENT_SECRET)
///     rathaus fitconnect zustellpunkt --mandant 160670029029 --id <UUID> --schluessel gotha.privat [--behoerde <UUID>]
///     rathaus fitconnect dienst --mandant 160670029029 --dienst <kennung> --ziel <UUID>|routing|aus
struct FITConnectCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "aktion") var action: String
        @Option(name: "name") var name: String?
        @Option(name: "ausgabe") var output: String?
        @Option(name: "mandant") var tenant: String?
        @Option(name: "rolle") var role: String?
        @Option(name: "url") var url: String?
        @Option(name: "token-url") var tokenURL: String?
        @Option(name: "client-id") var clientID: String?
        @Option(name: "id") var id: String?
        @Option(name: "schluessel") var keyFile: String?
        @Option(name: "behoerde") var office: String?
        @Option(name: "dienst") var service: String?
        @Option(name: "ziel") var target: String?
        @Option(name: "verschluesselung") var importEncryption: String?
        @Option(name: "signatur") var importSigning: String?
    }

    var help: String { "FIT-Connect einrichten: keys, zugang, zustellpunkt, dienst (siehe README, Abschnitt FIT-Connect)" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The sealed private keys of `keys`, opened again by `zustellpunkt`.
    struct PrivateKeys: Codable {
        var encryptionKid: String
        var encryptionPEM: String
        var signingKid: String
        var signingPEM: String
        var publicJWKS: JWKS
    }

    static let keysContext = "fitconnect-keys"

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        switch signature.action {
        case "keys": try keys(app, signature, context)
        case "zugang": try await account(app, signature, context)
        case "zustellpunkt": try await destination(app, signature, context)
        case "dienst": try await service(app, signature, context)
        default: throw Failure(description: "Unbekannte Aktion „\(signature.action)“: keys, zugang, zustellpunkt oder dienst.")
        }
    }

    static func safeName(_ s: String?) throws -> String {
        guard let s, !s.isEmpty, s.count <= 60, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw Failure(description: "--name: nur Buchstaben, Ziffern, - und _ (höchstens 60 Zeichen).")
        }
        return s
    }

    func keys(_ app: Application, _ s: Signature, _ context: CommandContext) throws {
        let name = try Self.safeName(s.name)
        let dir = URL(fileURLWithPath: s.output ?? ".")
        let pub = dir.appendingPathComponent("\(name).jwks.json"), priv = dir.appendingPathComponent("\(name).privat")
        for f in [pub, priv] where FileManager.default.fileExists(atPath: f.path) {
            throw Failure(description: "\(f.path) gibt es schon; vorhandene Schlüssel werden nie überschrieben.")
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let enc: RSAKeyPair, sig: RSAKeyPair
        switch (s.importEncryption, s.importSigning) {
        case (nil, nil):
            enc = try RSAKeyPair.newEncryptionKey(kid: "\(name)-enc-\(suffix)")
            sig = try RSAKeyPair.newSigningKey(kid: "\(name)-sig-\(suffix)")
        case (let e?, let g?):
            // existing keys of a destination that moves to Rathaus
            func read(_ path: String) throws -> String {
                guard let raw = FileManager.default.contents(atPath: path), raw.count < 64 * 1024 else { throw Failure(description: "\(path) ist nicht lesbar.") }
                return String(decoding: raw, as: UTF8.self)
            }
            do {
                enc = try RSAKeyPair.importEncryptionKey(try read(e), kid: "\(name)-enc-\(suffix)")
                sig = try RSAKeyPair.importSigningKey(try read(g), kid: "\(name)-sig-\(suffix)")
            } catch let j as JOSEError { throw Failure(description: "Schlüssel nicht übernommen: \(j)") }
            guard enc.publicJWK.n != sig.publicJWK.n else { throw Failure(description: "Verschlüsselung und Signatur brauchen zwei verschiedene Schlüssel.") }
        default:
            throw Failure(description: "--verschluesselung und --signatur nur zusammen (beide privaten Schlüssel des Zustellpunkts).")
        }
        let jwks = JWKS(keys: [enc.publicJWK, sig.publicJWK])
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let keys = PrivateKeys(encryptionKid: enc.publicJWK.kid ?? "", encryptionPEM: enc.privateKeyPEM,
                               signingKid: sig.publicJWK.kid ?? "", signingPEM: sig.privateKeyPEM, publicJWKS: jwks)
        let sealed = try app.secretBox().seal(try e.encode(keys), context: Self.keysContext)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try e.encode(jwks).write(to: pub, options: .withoutOverwriting)
        guard FileManager.default.createFile(atPath: priv.path, contents: Data(sealed.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "\(priv.path) kann nicht geschrieben werden.")
        }
        context.console.print("Öffentliche Schlüssel (für das Self-Service-Portal): \(pub.path)")
        context.console.print("Private Schlüssel (verschlüsselt, nur mit dieser Installation lesbar): \(priv.path)")
    }

    static func ars(_ s: String?) throws -> String {
        guard let s, (2...12).contains(s.count), s.allSatisfy(\.isNumber) else { throw Failure(description: "--mandant: der Regionalschlüssel (ARS) des Mandanten.") }
        return s
    }

    func account(_ app: Application, _ s: Signature, _ context: CommandContext) async throws {
        let ars = try Self.ars(s.tenant)
        guard let secret = Environment.get("FITCONNECT_CLIENT_SECRET"), !secret.isEmpty else {
            throw Failure(description: "Das Client-Secret wird aus der Umgebungsvariable FITCONNECT_CLIENT_SECRET gelesen (nie als Argument: es stünde in der Shell-Historie).")
        }
        do {
            try await FITConnectSetup.saveAccount(app, tenant: ars, role: s.role ?? "", url: s.url ?? "", tokenURL: s.tokenURL, clientID: s.clientID ?? "",
                                                  secret: secret, actor: "cli", actorID: nil)
        } catch let e as AppError {
            throw Failure(description: "--\((e.field ?? "").replacingOccurrences(of: "_", with: "-")): \(e.messageDE)")
        }
        context.console.print("FIT-Connect-Zugang (\(s.role ?? "")) für \(ars) gespeichert; das Secret liegt verschlüsselt in der Datenbank.")
    }

    func destination(_ app: Application, _ s: Signature, _ context: CommandContext) async throws {
        let ars = try Self.ars(s.tenant)
        guard let id = s.id.flatMap(UUID.init(uuidString:))?.uuidString.lowercased() else { throw Failure(description: "--id: die Zustellpunkt-ID (UUID).") }
        guard let path = s.keyFile, let raw = FileManager.default.contents(atPath: path) else { throw Failure(description: "--schluessel: die Datei <name>.privat von `fitconnect keys`.") }
        let box = try app.secretBox()
        let keys: PrivateKeys
        do { keys = try JSONDecoder().decode(PrivateKeys.self, from: box.open(String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), context: Self.keysContext)) } catch {
            throw Failure(description: "\(path) lässt sich nicht öffnen: nicht von `fitconnect keys` dieser Installation erzeugt oder verändert.")
        }
        // the keys must be usable as FIT-Connect demands before anything is stored
        _ = try _RSA.Encryption.PrivateKey(pemRepresentation: keys.encryptionPEM)
        _ = try _RSA.Signing.PrivateKey(pemRepresentation: keys.signingPEM)
        var officeID: UUID?
        if let o = s.office {
            guard let oid = UUID(uuidString: o), let office = try await Office.find(oid, on: app.db), office.tenantARS == ars else {
                throw Failure(description: "--behoerde: keine Behörde dieses Mandanten.")
            }
            officeID = office.id
        }
        let office = officeID
        let ctx = FITConnectDestination.context(id)
        let enc = try box.seal(keys.encryptionPEM, context: ctx), sig = try box.seal(keys.signingPEM, context: ctx)
        let jwks = String(decoding: try JSONEncoder().encode(keys.publicJWKS), as: UTF8.self)
        try await app.writeTransaction { db in
            if let other = try await FITConnectDestination.query(on: db).filter(\.$destinationID == id).first(), other.tenantARS != ars {
                throw Failure(description: "Dieser Zustellpunkt gehört bereits einem anderen Mandanten.")
            }
            let d = try await FITConnectDestination.query(on: db).filter(\.$destinationID == id).first() ?? FITConnectDestination()
            d.tenantARS = ars; d.destinationID = id; d.officeID = office
            d.encryptionKid = keys.encryptionKid; d.sealedEncryptionKey = enc; d.signingKid = keys.signingKid; d.sealedSigningKey = sig
            d.publicJWKS = jwks; d.active = true; d.createdAt = Date(); d.createdBy = "cli"
            try await d.save(on: db)
            try await Audit.record(on: db, actor: "cli", actorID: nil, tenant: ars, action: "fitconnect.destination", objectType: "fitconnect-zustellpunkt",
                                   objectID: id, before: nil, after: "\(keys.encryptionKid), \(keys.signingKid)")
        }
        context.console.print("Zustellpunkt \(id) für \(ars) eingerichtet; Einreichungen werden alle 5 Sekunden abgeholt.")
    }

    func service(_ app: Application, _ s: Signature, _ context: CommandContext) async throws {
        let ars = try Self.ars(s.tenant)
        guard let slug = s.service, let act = try await ServiceActivation.of(ars, slug, on: app.db) else {
            throw Failure(description: "--dienst: ein Onlinedienst, den der Mandant aktiviert hat.")
        }
        let target: String?
        do {
            target = try FITConnectSetup.target(s.target ?? "")
            if target != nil { try await FITConnectSetup.requireSender(ars, on: app.db) }
        } catch let e as AppError { throw Failure(description: "--ziel: \(e.messageDE)") }
        let before = act.fitConnectDestination
        try await app.writeTransaction { db in
            act.fitConnectDestination = target
            act.updatedAt = Date(); act.updatedBy = "cli"
            try await act.save(on: db)
            try await Audit.record(on: db, actor: "cli", actorID: nil, tenant: ars, action: "fitconnect.service", objectType: "onlinedienst",
                                   objectID: slug, before: before ?? "Posteingang", after: target ?? "Posteingang")
        }
        context.console.print(target.map { "\(slug): Anträge werden über FIT-Connect zugestellt (\($0))." } ?? "\(slug): Anträge gehen wieder in den eigenen Posteingang.")
    }
}
