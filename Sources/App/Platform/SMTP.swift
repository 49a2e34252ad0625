import Foundation
import NIOPosix
import Vapor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct SMTPError: Error, CustomStringConvertible {
    let description: String
}

/// Plain SMTP to the provider's relay (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT). The relay is
/// inside the provider's network; TLS and authentication belong to the relay configuration.
/// Blocking socket I/O with timeouts, run on the thread pool.
struct SMTPMailSender: MailSender {
    let host: String
    let port: Int
    let from: String
    let heloName: String
    let threadPool: NIOThreadPool

    func send(_ mail: MailMessage) async throws {
        let data = Self.render(mail, from: from)
        let host = self.host, port = self.port, from = self.from, helo = heloName
        try await threadPool.runIfActive {
            try Self.transmit(host: host, port: port, helo: helo, from: from, to: mail.to, data: data)
        }
    }

    /// RFC 5322 message: UTF-8 subject as encoded-word, body base64 (safe for any relay).
    static func render(_ m: MailMessage, from: String) -> String {
        let subject = m.subject.allSatisfy(\.isASCII) ? m.subject : "=?UTF-8?B?\(Data(m.subject.utf8).base64EncodedString())?="
        let date: String = {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
            return f.string(from: Date())
        }()
        let body = Data(m.body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let domain = from.split(separator: "@").last.map(String.init) ?? "rathaus.local"
        let msgID = m.messageID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "-" }
        let head = [
            "From: Rathaus <\(from)>",
            "To: <\(m.to)>",
            "Subject: \(subject)",
            "Date: \(date)",
            "Message-ID: <\(String(msgID))@\(domain)>",
            "MIME-Version: 1.0",
        ]
        let all = (m.attachment.map { [$0] } ?? []) + m.more
        guard !all.isEmpty else {
            return (head + ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "", body]).joined(separator: "\r\n")
        }
        // multipart/mixed: the text, then each attachment (an .ics invitation, an order as JSON and PDF), all base64
        let boundary = "rathaus-" + String(msgID.prefix(40))
        var parts = head + ["Content-Type: multipart/mixed; boundary=\"\(boundary)\"", "",
                            "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "", body]
        for a in all {
            let safeName = String(a.name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }.prefix(80))
            let mediaType = a.mediaType.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/-.+; =".contains($0)) } ? a.mediaType : "application/octet-stream"
            let data = a.base64 ? (Data(base64Encoded: a.content) ?? Data()) : Data(a.content.utf8)
            let content = data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            parts += ["--\(boundary)", "Content-Type: \(mediaType)\(a.base64 ? "" : "; charset=utf-8")", "Content-Transfer-Encoding: base64",
                      "Content-Disposition: attachment; filename=\"\(safeName.isEmpty ? "anhang" : safeName)\"", "", content]
        }
        return (parts + ["--\(boundary)--", ""]).joined(separator: "\r\n")
    }

    static func transmit(host: String, port: Int, helo: String, from: String, to: String, data: String) throws {
        guard !to.contains("\r"), !to.contains("\n"), !from.contains("\r"), !from.contains("\n") else {
            throw SMTPError(description: "invalid address")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else {
            throw SMTPError(description: "SMTP host \(host) not found")
        }
        defer { freeaddrinfo(res) }
        var fd: Int32 = -1
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: 15, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { break }
                close(fd)
                fd = -1
            }
            ai = a.pointee.ai_next
        }
        guard fd >= 0 else { throw SMTPError(description: "cannot connect to \(host):\(port)") }
        defer { close(fd) }

        var buffer = [UInt8]()
        func readReply() throws -> (Int, String) {
            // Multi-line replies: "250-…" continues, "250 …" ends.
            while true {
                if let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    buffer.removeSubrange(...nl)
                    if line.count >= 4, line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
                    return (Int(line.prefix(3)) ?? 0, line)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &chunk, chunk.count, 0)
                guard n > 0 else { throw SMTPError(description: "connection closed by SMTP server") }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
        func write(_ s: String) throws {
            var bytes = Array(s.utf8)
            while !bytes.isEmpty {
                let n = Glibc_send(fd, bytes)
                guard n > 0 else { throw SMTPError(description: "write to SMTP server failed") }
                bytes.removeFirst(n)
            }
        }
        func command(_ line: String, expect: Set<Int>) throws {
            try write(line + "\r\n")
            let (code, text) = try readReply()
            guard expect.contains(code) else { throw SMTPError(description: "SMTP \(line.prefix(4)): \(text)") }
        }
        let (greeting, text) = try readReply()
        guard greeting == 220 else { throw SMTPError(description: "SMTP greeting: \(text)") }
        do { try command("EHLO \(helo)", expect: [250]) } catch { try command("HELO \(helo)", expect: [250]) }
        try command("MAIL FROM:<\(from)>", expect: [250])
        try command("RCPT TO:<\(to)>", expect: [250, 251])
        try command("DATA", expect: [354])
        // dot-stuffing (RFC 5321 4.5.2)
        let stuffed = data.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\n")
        try write(stuffed + "\r\n.\r\n")
        let (code, reply) = try readReply()
        guard code == 250 else { throw SMTPError(description: "SMTP DATA: \(reply)") }
        try? command("QUIT", expect: [221])
    }
}

private func Glibc_send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
    bytes.withUnsafeBytes { raw in
        #if canImport(Glibc)
        return Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
        #else
        return Darwin.send(fd, raw.baseAddress, raw.count, 0)
        #endif
    }
}
