import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server on 127.0.0.1 for webhook tests: records each POST (headers, body) and
/// answers with the status the test sets (e.g. 500 first, to see the retry).
final class HTTPSink: @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let lock = NIOLock()
    private var _requests: [(headers: [String: String], body: String)] = []
    private var _status: HTTPResponseStatus = .ok
    var port: Int { channel?.localAddress?.port ?? 0 }
    var requests: [(headers: [String: String], body: String)] { lock.withLock { _requests } }
    var status: HTTPResponseStatus {
        get { lock.withLock { _status } }
        set { lock.withLock { _status = newValue } }
    }

    init() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [unowned self] ch in
                ch.pipeline.configureHTTPServerPipeline().flatMap { ch.pipeline.addHandler(Handler(sink: self)) }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    fileprivate func record(_ headers: [String: String], _ body: String) -> HTTPResponseStatus {
        lock.withLock { _requests.append((headers, body)); return _status }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let sink: HTTPSink
        var headers: [String: String] = [:]
        var body = ""
        init(sink: HTTPSink) { self.sink = sink }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                headers = [:]; body = ""
                for (n, v) in h.headers { headers[n.lowercased()] = v }
            case .body(var b):
                body += b.readString(length: b.readableBytes) ?? ""
            case .end:
                let status = sink.record(headers, body)
                var rh = HTTPHeaders()
                rh.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: rh))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
