import Crypto
import Foundation
import RathausCore

/// RFC 6238 time-based one-time passwords (HMAC-SHA1, 30 s, 6 digits) as common
/// authenticator apps implement them.
enum TOTP {
    static let period: TimeInterval = 30
    static let digits = 6

    static func newSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 20)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return Base32.encode(bytes)
    }

    static func step(at date: Date) -> Int { Int(floor(date.timeIntervalSince1970 / period)) }

    static func code(secret: String, step: Int) -> String? {
        guard let key = Base32.decode(secret), !key.isEmpty else { return nil }
        var counter = UInt64(step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let s = String(value)
        return String(repeating: "0", count: digits - s.count) + s
    }

    /// The matching time step within ±1 step of clock drift, nil when the code is wrong.
    static func verify(code: String, secret: String, at date: Date, after lastStep: Int) -> Int? {
        let c = code.filter { !$0.isWhitespace }
        guard c.count == digits, c.allSatisfy(\.isNumber) else { return nil }
        let now = step(at: date)
        for s in [now - 1, now, now + 1] where s > lastStep {
            if let expected = Self.code(secret: secret, step: s), constantTimeEqual(expected, c) { return s }
        }
        return nil
    }

    static func otpauthURI(secret: String, account: String) -> String {
        let label = "Rathaus:\(account)".addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? account
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=Rathaus&algorithm=SHA1&digits=6&period=30"
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in x.indices { diff |= x[i] ^ y[i] }
    return diff == 0
}
