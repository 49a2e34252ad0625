/// Why a key (ARS, AGS, Leitweg-ID, LeiKa key, amount) was refused.
/// Carries a message in German (first) and English that tells the user what to change.
public struct ValidationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stable machine-readable code, e.g. `ars.length`.
    public let code: String
    public let messageDE: String
    public let messageEN: String

    public init(code: String, de: String, en: String) {
        self.code = code
        self.messageDE = de
        self.messageEN = en
    }

    public var description: String { messageDE }
}

@inline(__always)
func isASCIIDigits<S: StringProtocol>(_ s: S) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
}
