/// /proc/PID/comm and task/TID/comm: the command name, as the task set it.
public enum Comm {
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes.trimmingNewline, as: UTF8.self)
    }
}

/// task/TID/wchan: the kernel function a sleeping thread waits in. `0` (or nothing)
/// means it is not waiting (running) or the kernel hides it.
public enum WaitChannel {
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> String? {
        let b = bytes.trimmingNewline
        if b.isEmpty || (b.count == 1 && b[0] == UInt8(ascii: "0")) { return nil }
        return String(decoding: b, as: UTF8.self)
    }
}

/// task/TID/syscall: what the thread is doing in the kernel (readable with ptrace access).
public enum SyscallState: Sendable, Hashable {
    /// On a CPU right now: the kernel cannot say.
    case running
    /// Blocked, but not in a system call (e.g. a page fault).
    case notInSyscall
    /// Blocked in system call `number` (architecture-specific numbering), with its first argument.
    case inSyscall(number: Int64, firstArgument: UInt64)

    /// `futex` and `futex_waitv` on this architecture: a thread blocked in either waits for a lock.
    public static var futexNumbers: [Int64] {
        #if arch(x86_64)
        return [202, 449]
        #elseif arch(arm64)
        return [98, 449]
        #else
        return [449]
        #endif
    }

    public var isFutexWait: Bool {
        if case .inSyscall(let n, _) = self { return Self.futexNumbers.contains(n) }
        return false
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> SyscallState {
        var sc = ByteScanner(bytes)
        let first = sc.word()
        if sc.equals(first, "running") { return .running }
        var num = ByteScanner(UnsafeRawBufferPointer(rebasing: bytes[0..<first.upperBound]), from: first.lowerBound)
        guard let n = num.signed(), num.isAtEnd else {
            throw ProcFSError.malformed("expected \"running\" or a system call number", bytes)
        }
        if n < 0 { return .notInSyscall }
        // Arguments are hexadecimal: 0x...
        let arg = sc.word()
        var value: UInt64 = 0
        if arg.count > 2, bytes[arg.lowerBound] == UInt8(ascii: "0"), bytes[arg.lowerBound + 1] == UInt8(ascii: "x") {
            for i in (arg.lowerBound + 2)..<arg.upperBound {
                let b = bytes[i]
                let d: UInt8
                switch b {
                case 48...57: d = b - 48
                case 97...102: d = b - 87
                case 65...70: d = b - 55
                default: throw ProcFSError.malformed("bad hexadecimal argument", bytes, at: arg.lowerBound)
                }
                value = value << 4 | UInt64(d)
            }
        } else {
            throw ProcFSError.malformed("expected the system call's arguments", bytes, at: arg.lowerBound)
        }
        return .inSyscall(number: n, firstArgument: value)
    }
}

/// task/TID/stack: the thread's kernel stack, innermost frame first. Root only.
public enum KernelStack {
    /// Function names, leaf first: `[<0>] do_nanosleep+0x8f/0x140` → `do_nanosleep`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> [String] {
        var frames: [String] = []
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let line = sc.restOfLine()
            if line.isEmpty { continue }
            var i = line.lowerBound
            if bytes[i] == UInt8(ascii: "[") {
                while i < line.upperBound, bytes[i] != UInt8(ascii: "]") { i += 1 }
                guard i < line.upperBound else { throw ProcFSError.malformed("unterminated address", bytes, at: line.lowerBound) }
                i += 1
            }
            while i < line.upperBound, bytes[i] == 32 { i += 1 }
            var end = i
            while end < line.upperBound, bytes[end] != UInt8(ascii: "+"), bytes[end] != 32 { end += 1 }
            guard end > i else { throw ProcFSError.malformed("no function name", bytes, at: line.lowerBound) }
            frames.append(sc.string(i..<end))
        }
        return frames
    }
}

/// /proc/PID/cmdline: arguments separated by NUL. Empty for kernel threads and zombies.
/// Only used to select processes: command lines are never exported.
public enum Cmdline {
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var args: [String] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0 {
            args.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count {
            args.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start...]), as: UTF8.self))
        }
        return args
    }
}
