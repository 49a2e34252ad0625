import Crypto
import Foundation

extension Sequence where Element == UInt8 {
    /// Lower-case hex, as hashes, HMACs and content addresses are written everywhere in Rathaus.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

enum Signature {
    /// HMAC-SHA256 of `text` as hex (callbacks, webhooks, test identity answers).
    static func hmac(_ text: some DataProtocol, key: SymmetricKey) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: text, using: key)).hex
    }
}

/// 256 random bits, URL-safe base64 without padding: API tokens, mail links, webhook secrets.
func randomURLToken() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
