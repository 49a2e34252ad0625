import Crypto
import CryptoExtras
import Foundation
import JOSE

/// What a sender hands to the Zustelldienst for one submission, and what a receiver gets back
/// out of it: the encrypted metadata, the encrypted data and one JWE per attachment. Sealing
/// computes the SHA-512 of every plaintext into the metadata; opening decrypts and checks every
/// hash, so the receiver can answer with exactly one `accept-submission` or
/// `reject-submission` naming the problem.
public struct Envelope: Sendable {
    public struct PlainAttachment: Sendable {
        public let id: String
        public let filename: String
        public let mimeType: String
        public let content: Data
        public let purpose: Metadata.Attachment.Purpose
        public init(id: String = UUID().uuidString.lowercased(), filename: String, mimeType: String, content: Data,
                    purpose: Metadata.Attachment.Purpose = .attachment) {
            self.id = id.lowercased(); self.filename = filename; self.mimeType = mimeType; self.content = content; self.purpose = purpose
        }
    }

    public struct Sealed: Sendable {
        public let metadata: Metadata
        public let encryptedMetadata: String
        public let encryptedData: String?
        public let encryptedAttachments: [(id: String, jwe: String)]
        public init(metadata: Metadata, encryptedMetadata: String, encryptedData: String?, encryptedAttachments: [(id: String, jwe: String)]) {
            self.metadata = metadata; self.encryptedMetadata = encryptedMetadata
            self.encryptedData = encryptedData; self.encryptedAttachments = encryptedAttachments
        }
    }

    public struct Opened: Sendable {
        public let metadata: Metadata
        public let data: Data?
        public let attachments: [(meta: Metadata.Attachment, content: Data)]
    }

    /// The receiver's refusal: the problem for `reject-submission` and a detail for the log.
    public struct Refusal: Error, Sendable, Equatable {
        public let problem: RejectionProblem
        public let detail: String
        /// Which part the problem concerns, as FIT-Connect names it: `metadata`, `data` or
        /// `attachment:<id>` (the problem's `instance`).
        public let instance: String
        public init(problem: RejectionProblem, detail: String, instance: String = "metadata") {
            self.problem = problem; self.detail = detail; self.instance = instance
        }
    }

    /// Encrypts for the destination's public encryption key (RSA ≥ 4096, `alg RSA-OAEP-256`,
    /// `key_ops wrapKey` — checked by the JOSE key policy).
    public static func seal(data: Data?, dataSchema: Metadata.SubmissionSchema?, attachments: [PlainAttachment],
                            service: Metadata.PublicServiceType, payment: Metadata.PaymentInformation? = nil,
                            reply: Metadata.ReplyChannel? = nil, reference: Metadata.AdditionalReferenceInfo? = nil,
                            authentication: [Metadata.AuthenticationInformation]? = nil, for key: JWK) throws -> Sealed {
        var described: Metadata.DataDescription?
        if let data, let dataSchema { described = .init(hash: .init(of: data), submissionSchema: dataSchema) }
        let metadata = Metadata(
            contentStructure: .init(data: described, attachments: attachments.map {
                .init(hash: .init(of: $0.content), purpose: $0.purpose, filename: $0.filename, mimeType: $0.mimeType, attachmentId: $0.id)
            }),
            publicServiceType: service, paymentInformation: payment, replyChannel: reply, additionalReferenceInfo: reference,
            authenticationInformation: authentication)
        let problems = metadata.problems()
        guard problems.isEmpty else { throw MetadataError.problems(problems) }
        let encMeta = try JWE.encrypt(metadata.encoded(), for: key, contentType: "application/json")
        let encData = try data.map { try JWE.encrypt($0, for: key, contentType: dataSchema?.mimeType ?? "application/json") }
        let encAttachments = try attachments.map { (id: $0.id, jwe: try JWE.encrypt($0.content, for: key, contentType: $0.mimeType)) }
        return Sealed(metadata: metadata, encryptedMetadata: encMeta, encryptedData: encData, encryptedAttachments: encAttachments)
    }

    /// Decrypts with the destination's private key and checks everything the metadata promises.
    /// `attachments` are the JWEs fetched by attachment id; `limit` bounds each plaintext.
    public static func open(encryptedMetadata: String, encryptedData: String?, attachments: [String: String],
                            key: _RSA.Encryption.PrivateKey, kid: String, limit: Int) throws -> Opened {
        func decrypt(_ jwe: String, _ what: String, _ instance: String) throws -> Data {
            do { return try JWE.decrypt(jwe, with: key, kid: kid, maxPlaintext: limit).plaintext } catch {
                throw Refusal(problem: .decryptionFailed, detail: "\(what): \(error)", instance: instance)
            }
        }
        let metaBytes = try decrypt(encryptedMetadata, "Metadaten", "metadata")
        let metadata: Metadata
        do { metadata = try Metadata.decode(metaBytes) } catch {
            throw Refusal(problem: .schemaViolation, detail: "Metadaten: \(error)")
        }
        let problems = metadata.problems()
        if !problems.isEmpty { throw Refusal(problem: .schemaViolation, detail: problems.joined(separator: " ")) }

        var data: Data?
        switch (metadata.contentStructure.data, encryptedData) {
        case (nil, nil): data = nil
        case (let d?, let jwe?):
            let plain = try decrypt(jwe, "Fachdaten", "data")
            guard d.hash.matches(plain) else { throw Refusal(problem: .hashMismatch, detail: "Fachdaten", instance: "data") }
            data = plain
        case (_?, nil): throw Refusal(problem: .schemaViolation, detail: "Fachdaten angekündigt, aber nicht übermittelt", instance: "data")
        case (nil, _?): throw Refusal(problem: .schemaViolation, detail: "Fachdaten übermittelt, aber in den Metadaten nicht beschrieben", instance: "data")
        }
        var opened: [(Metadata.Attachment, Data)] = []
        for a in metadata.contentStructure.attachments {
            guard let jwe = attachments[a.attachmentId.lowercased()] else {
                throw Refusal(problem: .missingAttachment, detail: "Anlage \(a.filename ?? a.attachmentId)", instance: "attachment:\(a.attachmentId.lowercased())")
            }
            let plain = try decrypt(jwe, "Anlage \(a.filename ?? a.attachmentId)", "attachment:\(a.attachmentId.lowercased())")
            guard a.hash.matches(plain) else {
                throw Refusal(problem: .hashMismatch, detail: "Anlage \(a.filename ?? a.attachmentId)", instance: "attachment:\(a.attachmentId.lowercased())")
            }
            opened.append((a, plain))
        }
        let described = Set(metadata.contentStructure.attachments.map { $0.attachmentId.lowercased() })
        if let extra = attachments.keys.first(where: { !described.contains($0.lowercased()) }) {
            throw Refusal(problem: .schemaViolation, detail: "Anlage \(extra) steht nicht in den Metadaten", instance: "attachment:\(extra.lowercased())")
        }
        return Opened(metadata: metadata, data: data, attachments: opened)
    }
}
