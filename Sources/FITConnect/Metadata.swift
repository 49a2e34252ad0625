import Foundation
import JOSE

/// FIT-Connect metadata, schema version 1.0.0 (`$id`
/// https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json). The sender encrypts
/// it as the submission's `encryptedMetadata`; the receiver checks every hash in it against the
/// decrypted data and attachments. Only what Rathaus writes or must read is modelled; unknown
/// members of a received document are ignored by `Codable` and the schema check is `problems()`.
public struct Metadata: Codable, Sendable, Equatable {
    public static let schemaURI = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"

    public var contentStructure: ContentStructure
    public var publicServiceType: PublicServiceType?
    public var paymentInformation: PaymentInformation?
    public var replyChannel: ReplyChannel?
    public var additionalReferenceInfo: AdditionalReferenceInfo?
    public var authenticationInformation: [AuthenticationInformation]?

    public init(contentStructure: ContentStructure, publicServiceType: PublicServiceType? = nil,
                paymentInformation: PaymentInformation? = nil, replyChannel: ReplyChannel? = nil,
                additionalReferenceInfo: AdditionalReferenceInfo? = nil, authenticationInformation: [AuthenticationInformation]? = nil) {
        self.contentStructure = contentStructure
        self.authenticationInformation = authenticationInformation
        self.publicServiceType = publicServiceType
        self.paymentInformation = paymentInformation
        self.replyChannel = replyChannel
        self.additionalReferenceInfo = additionalReferenceInfo
    }

    /// SHA-512 of a plaintext, hex in lower case (schema: `^[a-f0-9]{128}$`).
    public struct Hash: Codable, Sendable, Equatable {
        public var type: String
        public var content: String
        public init(of plaintext: Data) { type = "sha512"; content = ContentHash.sha512Hex(plaintext) }
        public init(type: String, content: String) { self.type = type; self.content = content }
        public func matches(_ plaintext: Data) -> Bool { type == "sha512" && content == ContentHash.sha512Hex(plaintext) }
    }

    public struct SubmissionSchema: Codable, Sendable, Equatable {
        public var schemaUri: String
        public var mimeType: String
        public init(schemaUri: String, mimeType: String) { self.schemaUri = schemaUri; self.mimeType = mimeType }
    }

    public struct DataDescription: Codable, Sendable, Equatable {
        public var hash: Hash
        public var submissionSchema: SubmissionSchema
        public init(hash: Hash, submissionSchema: SubmissionSchema) { self.hash = hash; self.submissionSchema = submissionSchema }
    }

    public struct Attachment: Codable, Sendable, Equatable {
        public enum Purpose: String, Codable, Sendable { case form, attachment, report }
        public var hash: Hash
        public var purpose: Purpose
        public var filename: String?
        public var mimeType: String
        public var attachmentId: String
        public var description: String?
        public init(hash: Hash, purpose: Purpose, filename: String?, mimeType: String, attachmentId: String, description: String? = nil) {
            self.hash = hash; self.purpose = purpose; self.filename = filename; self.mimeType = mimeType
            self.attachmentId = attachmentId; self.description = description
        }
    }

    public struct ContentStructure: Codable, Sendable, Equatable {
        public var data: DataDescription?
        public var attachments: [Attachment]
        public init(data: DataDescription?, attachments: [Attachment]) { self.data = data; self.attachments = attachments }
    }

    public struct PublicServiceType: Codable, Sendable, Equatable {
        public var name: String?
        public var description: String?
        public var identifier: String
        public init(name: String?, identifier: String, description: String? = nil) {
            self.name = name; self.identifier = identifier; self.description = description
        }
        /// `urn:de:fim:leika:leistung:<14 digits>` — the form the schema's description asks for.
        public static func leika(_ key: String, name: String?) -> PublicServiceType {
            PublicServiceType(name: name, identifier: "urn:de:fim:leika:leistung:" + key)
        }
    }

    /// From the e-payment hub. `grossAmount` is a JSON number with two decimals; it is written
    /// from integer cents through `Decimal`, never through a binary floating-point value.
    public struct PaymentInformation: Codable, Sendable, Equatable {
        public enum Method: String, Codable, Sendable { case GIROPAY, PAYDIRECT, CREDITCARD, PAYPAL, INVOICE, OTHER }
        public enum Status: String, Codable, Sendable { case INITIAL, BOOKED, FAILED, CANCELED }
        public var transactionId: String
        public var transactionReference: String
        public var transactionTimestamp: String?
        public var transactionUrl: String?
        public var paymentMethod: Method
        public var paymentMethodDetail: String?
        public var status: Status
        public var grossAmount: Decimal?
        public init(transactionId: String, transactionReference: String, paymentMethod: Method, status: Status,
                    grossAmountCents: Int?, transactionTimestamp: Date? = nil, paymentMethodDetail: String? = nil, transactionUrl: String? = nil) {
            self.transactionId = transactionId
            self.transactionReference = transactionReference
            self.paymentMethod = paymentMethod
            self.status = status
            self.grossAmount = grossAmountCents.map { Decimal($0) / 100 }
            self.transactionTimestamp = transactionTimestamp.map { ISO8601DateFormatter().string(from: $0) }
            self.paymentMethodDetail = paymentMethodDetail
            self.transactionUrl = transactionUrl
        }
    }

    /// Exactly one channel (schema: minProperties = maxProperties = 1): e-mail (optionally with a
    /// PGP key), De-Mail, a FINK postbox of an interoperable Servicekonto, or an ELSTER account.
    /// Rathaus sends with e-mail; all four are accepted on receipt and shown to the clerk.
    public struct ReplyChannel: Codable, Sendable, Equatable {
        public struct Address: Codable, Sendable, Equatable {
            public var address: String
            public var pgpPublicKey: String?
            public init(address: String, pgpPublicKey: String? = nil) { self.address = address; self.pgpPublicKey = pgpPublicKey }
        }
        public struct Fink: Codable, Sendable, Equatable {
            public var finkPostfachRef: String
            public var host: String?
            public init(finkPostfachRef: String, host: String? = nil) { self.finkPostfachRef = finkPostfachRef; self.host = host }
        }
        public struct Elster: Codable, Sendable, Equatable {
            public var accountId: String
            public var lieferTicket: String?
            public var geschaeftszeichen: String?
            public init(accountId: String, lieferTicket: String? = nil, geschaeftszeichen: String? = nil) {
                self.accountId = accountId; self.lieferTicket = lieferTicket; self.geschaeftszeichen = geschaeftszeichen
            }
        }
        public var eMail: Address?
        public var deMail: Address?
        public var fink: Fink?
        public var elster: Elster?
        public init(eMail: String) { self.eMail = Address(address: eMail) }
        public init(deMail: String) { self.deMail = Address(address: deMail) }
        public init(fink: Fink) { self.fink = fink }
        public init(elster: Elster) { self.elster = elster }

        /// Which channel (`eMail`, `deMail`, `fink`, `elster`) and its address, for display.
        public var kindAndAddress: (kind: String, address: String)? {
            // with a PGP key the sender asks for encrypted mail only: a channel of its own
            if let e = eMail { return (e.pgpPublicKey == nil ? "eMail" : "eMailPGP", e.address) }
            if let d = deMail { return ("deMail", d.address) }
            if let f = fink { return ("fink", f.finkPostfachRef + (f.host.map { " (\($0))" } ?? "")) }
            if let e = elster { return ("elster", e.accountId + (e.geschaeftszeichen.map { " / \($0)" } ?? "")) }
            return nil
        }

        /// The channel in words for the clerk ("E-Mail an …").
        public var german: String {
            if let e = eMail { return "E-Mail an \(e.address)" + (e.pgpPublicKey == nil ? "" : " (PGP-verschlüsselt erbeten)") }
            if let d = deMail { return "De-Mail an \(d.address)" }
            if let f = fink { return "Postfach im Servicekonto (FINK) \(f.finkPostfachRef)" + (f.host.map { " bei \($0)" } ?? "") }
            if let e = elster { return "ELSTER-Konto \(e.accountId)" + (e.geschaeftszeichen.map { ", Geschäftszeichen \($0)" } ?? "") }
            return "kein Rückkanal"
        }

        var problems: [String] {
            var out: [String] = []
            let count = [eMail != nil, deMail != nil, fink != nil, elster != nil].filter { $0 }.count
            if count != 1 { out.append("Rückkanal: genau ein Kanal ist anzugeben.") }
            for a in [eMail, deMail].compactMap({ $0 }) where a.address.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) == nil {
                out.append("Rückkanal: „\(a.address.prefix(80))“ ist keine E-Mail-Adresse.")
            }
            if let k = eMail?.pgpPublicKey, !k.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n") {
                out.append("Rückkanal: der PGP-Schlüssel ist kein exportierter öffentlicher Schlüssel (ASCII-Armor).")
            }
            if let f = fink {
                if f.finkPostfachRef.count > 150 || f.finkPostfachRef.range(of: #"^[-._a-z0-9~/]*$"#, options: .regularExpression) == nil {
                    out.append("Rückkanal: die FINK-Postfachadresse ist ungültig (Kleinbuchstaben, Ziffern, - . _ ~ /; höchstens 150 Zeichen).")
                }
                if let h = f.host, URL(string: h)?.scheme == nil { out.append("Rückkanal: der Host des Servicekontos ist keine URL.") }
            }
            if let e = elster {
                if e.accountId.range(of: #"^\d{10}$"#, options: .regularExpression) == nil { out.append("Rückkanal: die ELSTER-Konto-ID hat nicht genau 10 Ziffern.") }
                if let g = e.geschaeftszeichen, g.count > 10 { out.append("Rückkanal: das ELSTER-Geschäftszeichen ist länger als 10 Zeichen.") }
            }
            return out
        }
    }

    /// One identification proof (schema: `type` only `identificationReport`, `version` semver,
    /// `content` base64url characters and dots — a compact JWS).
    public struct AuthenticationInformation: Codable, Sendable, Equatable {
        public static let identificationReport = "identificationReport"
        public var type: String
        public var version: String
        public var content: String
        public init(type: String, version: String, content: String) { self.type = type; self.version = version; self.content = content }
    }

    public struct AdditionalReferenceInfo: Codable, Sendable, Equatable {
        public var senderReference: String?
        public var applicationDate: String?
        public init(senderReference: String?, applicationDate: String?) {
            self.senderReference = senderReference; self.applicationDate = applicationDate
        }
    }

    /// The JSON written into the JWE: keys sorted (stable hashes in tests), slashes unescaped.
    public func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(self)
    }

    public static func decode(_ data: Data) throws -> Metadata {
        do { return try JSONDecoder().decode(Metadata.self, from: data) } catch {
            throw MetadataError.problems(["Die Metadaten sind kein gültiges JSON-Dokument der Version 1.0.0."])
        }
    }

    /// What the schema 1.0.0 requires beyond the shape `Codable` already enforces, in German, one
    /// line per problem. Empty means valid. Tested against an independent JSON-Schema validator.
    public func problems() -> [String] {
        var out: [String] = []
        func checkHash(_ h: Hash, _ what: String) {
            if h.type != "sha512" { out.append("\(what): Hash-Algorithmus „\(h.type)“ ist nicht erlaubt (nur sha512).") }
            if h.content.range(of: "^[a-f0-9]{128}$", options: .regularExpression) == nil {
                out.append("\(what): Hashwert ist kein SHA-512 in Kleinbuchstaben-Hex (128 Zeichen).")
            }
        }
        if let d = contentStructure.data {
            checkHash(d.hash, "Fachdaten")
            if !["application/json", "application/xml"].contains(d.submissionSchema.mimeType) {
                out.append("Fachdaten: Schema-Medientyp „\(d.submissionSchema.mimeType)“ ist nicht erlaubt (application/json oder application/xml).")
            }
            if URL(string: d.submissionSchema.schemaUri)?.scheme == nil { out.append("Fachdaten: schemaUri ist keine URI.") }
        }
        var seen = Set<String>()
        for (i, a) in contentStructure.attachments.enumerated() {
            let what = "Anlage \(i + 1)"
            checkHash(a.hash, what)
            if UUID(uuidString: a.attachmentId) == nil { out.append("\(what): attachmentId ist keine UUID.") }
            if !seen.insert(a.attachmentId.lowercased()).inserted { out.append("\(what): attachmentId ist doppelt.") }
            if a.mimeType.range(of: #"^[-\w.]+/[-\w.+]+$"#, options: .regularExpression) == nil { out.append("\(what): Medientyp „\(a.mimeType)“ ist ungültig.") }
        }
        if let s = publicServiceType {
            if s.identifier.count < 7 || s.identifier.count > 255
                || s.identifier.range(of: #"^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+$"#, options: .regularExpression) == nil {
                out.append("Leistung: „\(s.identifier)“ ist keine gültige URN.")
            }
        }
        if let p = paymentInformation {
            let idPattern = #"^[\w\d-]+$"#
            if p.transactionId.isEmpty || p.transactionId.count > 36 || p.transactionId.range(of: idPattern, options: .regularExpression) == nil {
                out.append("Zahlung: transactionId ist leer, länger als 36 Zeichen oder enthält unerlaubte Zeichen.")
            }
            if let d = p.paymentMethodDetail, d.isEmpty || d.count > 36 || d.range(of: idPattern, options: .regularExpression) == nil {
                out.append("Zahlung: paymentMethodDetail ist ungültig.")
            }
            if let g = p.grossAmount {
                var scaled = g * 100, rounded = Decimal()
                NSDecimalRound(&rounded, &scaled, 0, .plain)
                if g < Decimal(1) / 100 || rounded != scaled { out.append("Zahlung: Bruttobetrag muss mindestens 0,01 sein und volle Cent haben.") }
            }
        }
        if let r = replyChannel { out += r.problems }
        if let list = authenticationInformation {
            if list.isEmpty { out.append("Identifikationsnachweise: die Liste ist leer (mindestens ein Eintrag oder weglassen).") }
            for (i, a) in list.enumerated() {
                let what = "Identifikationsnachweis \(i + 1)"
                if a.type != AuthenticationInformation.identificationReport { out.append("\(what): Art „\(a.type.prefix(60))“ ist nicht erlaubt (nur identificationReport).") }
                if a.version.range(of: #"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"#, options: .regularExpression) == nil {
                    out.append("\(what): Version „\(a.version.prefix(20))“ ist keine Versionsangabe (x.y.z).")
                }
                if a.content.range(of: #"^[a-zA-Z0-9_\-.]+$"#, options: .regularExpression) == nil { out.append("\(what): Inhalt ist nicht base64url-kodiert.") }
            }
        }
        if let d = additionalReferenceInfo?.applicationDate, d.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
            out.append("Antragsdatum: „\(d)“ ist kein Datum (JJJJ-MM-TT).")
        }
        return out
    }
}

public enum MetadataError: Error, Equatable, CustomStringConvertible {
    case problems([String])
    public var description: String {
        switch self { case .problems(let p): return p.joined(separator: " ") }
    }
}
