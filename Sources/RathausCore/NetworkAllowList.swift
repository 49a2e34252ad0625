import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32", or a single address) and whether an
/// address lies in one of them. Used for a tenant's allow-list of staff sign-ins.
public struct NetworkAllowList: Sendable, Equatable {
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        public let bytes: [UInt8]
        public let prefix: Int
        public var description: String { NetworkAllowList.format(bytes) + "/\(prefix)" }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for i in 0..<bytes.count where left > 0 {
                let n = min(8, left)
                let mask: UInt8 = n == 8 ? 0xFF : ~(0xFF >> UInt8(n))
                if address[i] & mask != bytes[i] & mask { return false }
                left -= n
            }
            return true
        }
    }

    public let networks: [Network]
    public var isEmpty: Bool { networks.isEmpty }

    public struct ParseError: Error, Sendable, Equatable {
        public let line: Int
        public let text: String
        public var german: String { "Zeile \(line): „\(text)“ ist kein Netz in der Form 192.0.2.0/24 oder 2001:db8::/32." }
        public var english: String { "Line \(line): “\(text)” is not a network like 192.0.2.0/24 or 2001:db8::/32." }
    }

    /// One network per line (commas also separate); empty lines and `#` comments are ignored.
    /// At most 100 networks.
    public static func parse(_ text: String) throws -> NetworkAllowList {
        var out: [Network] = []
        let items = text.replacingOccurrences(of: ",", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (i, raw) in items.enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let clipped = String(line.prefix(60))
            let parts = line.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let bytes = address(String(parts[0])) else { throw ParseError(line: i + 1, text: clipped) }
            let max = bytes.count * 8
            var prefix = max
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...max).contains(p) else { throw ParseError(line: i + 1, text: clipped) }
                prefix = p
            }
            out.append(Network(bytes: bytes, prefix: prefix))
            if out.count > 100 { throw ParseError(line: i + 1, text: "höchstens 100 Netze") }
        }
        return NetworkAllowList(networks: out)
    }

    public init(networks: [Network]) { self.networks = networks }

    /// An empty list allows everything (no restriction set).
    public func allows(_ ip: String) -> Bool {
        if networks.isEmpty { return true }
        var s = ip.trimmingCharacters(in: .whitespaces)
        // an IPv4 address seen through an IPv6 socket
        if s.lowercased().hasPrefix("::ffff:"), s.contains(".") { s = String(s.dropFirst(7)) }
        guard let a = Self.address(s) else { return false }
        return networks.contains { $0.contains(a) }
    }

    static func address(_ s: String) -> [UInt8]? {
        if s.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
            return withUnsafeBytes(of: &a) { Array($0) }
        }
        var a = in_addr()
        guard s.split(separator: ".").count == 4, inet_pton(AF_INET, s, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    static func format(_ b: [UInt8]) -> String {
        if b.count == 4 { return b.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    /// One network per line, as stored and shown.
    public var text: String { networks.map(\.description).joined(separator: "\n") }
}
