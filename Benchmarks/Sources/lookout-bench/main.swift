import Logging

#if canImport(Glibc)
import Glibc
#endif

Harness.ensurePreloaded()
// The in-process agent (metrics.agent.*) logs only errors.
LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = .error
    return h
}

var arguments = Array(CommandLine.arguments.dropFirst())
var seconds = 2.0
if let i = arguments.firstIndex(of: "--seconds"), i + 1 < arguments.count, let s = Double(arguments[i + 1]) {
    seconds = s
    arguments.removeSubrange(i...(i + 1))
}
if arguments.contains("--list") {
    for b in allBenchmarks { print("\(b.name)  (\(b.unit))") }
    exit(0)
}
let filter = arguments.first
let selected = allBenchmarks.filter { filter == nil || $0.name.contains(filter!) }
if selected.isEmpty {
    print("no benchmark matches \(filter ?? ""); available: \(allBenchmarks.map(\.name).joined(separator: ", "))")
    exit(2)
}
var results: [Result] = []
for b in selected {
    do {
        results.append(try await Harness.measure(b, seconds: seconds))
    } catch {
        print("\(b.name): setup failed: \(error)")
        Cleanup.run()
        exit(1)
    }
}
Harness.printTable(results)
