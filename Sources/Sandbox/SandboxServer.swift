import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Serves a `SandboxStore` over HTTP/1.1 on 127.0.0.1 (Hummingbird). Only loopback, never TLS.
public enum SandboxServer {
    struct DroppedConnection: Error {}

    /// Runs until SIGTERM/SIGINT. `onListening` gets the bound port once the socket listens.
    public static func run(store: SandboxStore, port: Int, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024 * 1024)
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
            let exchange = SandboxRequest(method: request.method.rawValue, path: request.uri.path, query: query,
                                          headers: headers, body: Data(buffer: body))
            let answer = await store.process(exchange)
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            }
            let bytes = ByteBuffer(bytes: answer.body)
            if answer.dropConnection {
                // Promise the whole body, send half, then fail: the client sees the connection drop.
                let half = ByteBuffer(bytes: answer.body.prefix(max(1, answer.body.count / 2)))
                return Response(status: .init(code: answer.status), headers: fields,
                                body: ResponseBody(contentLength: answer.body.count + 1) { writer in
                                    try await writer.write(half)
                                    throw DroppedConnection()
                                })
            }
            return Response(status: .init(code: answer.status), headers: fields, body: ResponseBody(byteBuffer: bytes))
        }
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: { var l = Logger(label: "mixerai-sandbox"); l.logLevel = .error; return l }())
        do {
            try await app.runService()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
