import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A real SMTP server on 127.0.0.1 for tests: speaks enough RFC 5321 for a client to deliver,
/// and keeps each received message (headers and body as sent).
final class SMTPSink: @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let lock = NIOLock()
    private var _messages: [(from: String, to: [String], data: String)] = []
    var port: Int { channel?.localAddress?.port ?? 0 }

    var messages: [(from: String, to: [String], data: String)] { lock.withLock { _messages } }

    init() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [unowned self] ch in ch.pipeline.addHandler(Handler(sink: self)) }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    fileprivate func store(from: String, to: [String], data: String) {
        lock.withLock { _messages.append((from, to, data)) }
    }

    /// The decoded text body of a message (the sender uses base64 transfer encoding).
    static func body(_ data: String) -> String {
        guard let r = data.range(of: "\r\n\r\n") else { return data }
        let b64 = data[r.upperBound...].replacingOccurrences(of: "\r\n", with: "")
        return Data(base64Encoded: b64).map { String(decoding: $0, as: UTF8.self) } ?? String(data[r.upperBound...])
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let sink: SMTPSink
        var pending = ""
        var inData = false
        var data = ""
        var from = ""
        var to: [String] = []

        init(sink: SMTPSink) { self.sink = sink }

        func channelActive(context: ChannelHandlerContext) { reply(context, "220 sink.test ESMTP") }

        func reply(_ context: ChannelHandlerContext, _ s: String) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: s + "\r\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data raw: NIOAny) {
            var buf = unwrapInboundIn(raw)
            pending += buf.readString(length: buf.readableBytes) ?? ""
            while let r = pending.range(of: "\r\n") {
                let line = String(pending[..<r.lowerBound])
                pending.removeSubrange(pending.startIndex..<r.upperBound)
                handle(context, line)
            }
        }

        func handle(_ context: ChannelHandlerContext, _ line: String) {
            if inData {
                if line == "." {
                    inData = false
                    sink.store(from: from, to: to, data: data)
                    data = ""; to = []
                    reply(context, "250 OK queued")
                } else {
                    data += (line.hasPrefix("..") ? String(line.dropFirst()) : line) + "\r\n"
                }
                return
            }
            let upper = line.uppercased()
            if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") { reply(context, "250-sink.test\r\n250 8BITMIME") }
            else if upper.hasPrefix("MAIL FROM:") { from = String(line.dropFirst(10)); reply(context, "250 OK") }
            else if upper.hasPrefix("RCPT TO:") { to.append(String(line.dropFirst(8))); reply(context, "250 OK") }
            else if upper == "DATA" { inData = true; reply(context, "354 End data with <CR><LF>.<CR><LF>") }
            else if upper == "QUIT" { reply(context, "221 Bye"); context.close(promise: nil) }
            else { reply(context, "250 OK") }
        }
    }
}
