#if canImport(Glibc)
import Glibc
#endif

Harness.ensurePreloaded()

var arguments = Array(CommandLine.arguments.dropFirst())
var seconds = 2.0
if let i = arguments.firstIndex(of: "--seconds"), i + 1 < arguments.count, let s = Double(arguments[i + 1]) {
    seconds = s
    arguments.removeSubrange(i...(i + 1))
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
        results.append(try Harness.measure(b, seconds: seconds))
    } catch {
        print("\(b.name): setup failed: \(error)")
        exit(1)
    }
}
Harness.printTable(results)
