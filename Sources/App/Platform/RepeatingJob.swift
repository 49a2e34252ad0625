import NIOCore
import Vapor

/// Work that `serve` repeats every `interval` in every instance (payment sweep, audit checkpoints).
/// Each job makes itself safe against a second instance (row claims, idempotent writes); failures
/// are logged under the job's name and the next run tries again.
struct RepeatingJob: LifecycleHandler {
    let name: String
    let interval: TimeAmount
    let work: @Sendable (Application) async throws -> Void
    final class Box: @unchecked Sendable { var task: RepeatedTask? }
    let box = Box()

    func didBootAsync(_ app: Application) async throws {
        let (name, work) = (self.name, self.work)
        box.task = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do { try await work(app) } catch { app.logger.warning("\(name): \(error)") }
            }
        }
    }

    func shutdownAsync(_ app: Application) async { box.task?.cancel() }
}
