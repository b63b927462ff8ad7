#if os(Linux)
import Glibc
#endif
import CSluiceRuntime
import NIOCore
import NIOPosix

/// Makes NIO's event loops Swift concurrency's global executor, running each job as
/// the *generic* executor.
///
/// NIO's own takeover (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// runs a global job isolated to the event loop's serial executor. Every call into a
/// nonisolated async function then sees a different executor, and the runtime parks the
/// task and enqueues it again (`swift_task_switch`): about a hundred extra jobs per
/// proxied chat call, each through the loop's task queue. Running the job as the generic
/// executor, which is what the default global executor does, lets those calls continue
/// inline; hops to real actors still switch as before. Jobs stay on the loop that
/// enqueues them (a task resumed by loop A's I/O keeps running on loop A).
enum EventLoopExecutor {
    /// `swift_task_enqueueGlobal_hook`'s type: the job and the runtime's own enqueue.
    private typealias Original = @convention(thin) (UnownedJob) -> Void
    private typealias Hook = @convention(thin) (UnownedJob, Original) -> Void

    /// Installs the hook; `false` when another hook is already in place (nothing changes).
    /// Call once, on the main thread, before any task runs.
    @discardableResult
    static func install() -> Bool {
        // The hook's address from C, resolved by the linker: dlsym cannot find it in a binary
        // built with --static-swift-stdlib (the runtime's symbols stay out of the dynamic table).
        let slot = UnsafeMutableRawPointer(csluice_enqueue_global_hook_slot()).assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard slot.pointee == nil else { return false }
        slot.pointee = hookAddress()
        return true
    }

    /// The hook as a raw function pointer.
    private static func hookAddress() -> UnsafeRawPointer {
        withUnsafeTemporaryAllocation(of: Hook.self, capacity: 1) { buffer in
            buffer.baseAddress!.initialize(to: { job, _ in EventLoopExecutor.enqueueOnEventLoop(job) })
            return UnsafeRawPointer(buffer.baseAddress!).load(as: UnsafeRawPointer.self)
        }
    }

    /// The hook: the job goes to this thread's event loop, or any loop when enqueued
    /// from elsewhere.
    fileprivate static func enqueueOnEventLoop(_ job: UnownedJob) {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        loop.execute { runAsGeneric(job) }
    }

    /// Runs `job` on this thread as the generic executor (identity and implementation nil),
    /// as the runtime's default global executor does.
    private static func runAsGeneric(_ job: UnownedJob) {
        swiftJobRun(job, generic)
    }

    /// The generic executor reference: two zero words.
    private static let generic: UnownedSerialExecutor = {
        precondition(MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size)
        return unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)
    }()
}

/// The runtime's `swift_job_run(Job *, SerialExecutorRef)`, declared as the standard
/// library declares it.
@_silgen_name("swift_job_run")
private func swiftJobRun(_ job: UnownedJob, _ executor: UnownedSerialExecutor)
