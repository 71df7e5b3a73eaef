/// Runs a parsed template over its data: Go's `text/template` execution, bounded by
/// `GoTemplate.Limits`.
final class TemplateExecutor {
    typealias Error = GoTemplate.Error
    typealias Node = GoTemplate.Node

    let data: GoTemplate.Data
    let limits: GoTemplate.Limits
    var output = ""
    private var steps = 0
    /// Variables, innermost last (Go's variable stack).
    private var vars: [(name: String, value: GoValue)]

    enum Flow { case normal, breakLoop, continueLoop }

    init(data: GoTemplate.Data, limits: GoTemplate.Limits) {
        self.data = data
        self.limits = limits
        vars = [
            ("$", .data), ("$labels", .map(data.labels)), ("$externalLabels", .map(data.externalLabels)),
            ("$externalURL", .string(data.externalURL)), ("$value", .float(data.value)),
        ]
    }

    func run(_ nodes: [Node]) throws(Error) {
        _ = try walk(nodes, dot: .data)
    }

    private func spend(_ n: Int, at offset: Int) throws(Error) {
        steps += n
        if steps > limits.steps {
            throw Error(message: "template does more than \(limits.steps) steps of work", offset: offset)
        }
    }

    private func write(_ s: String, at offset: Int) throws(Error) {
        output += s
        if output.utf8.count > limits.outputBytes {
            throw Error(message: "template output longer than \(limits.outputBytes) bytes", offset: offset)
        }
    }

    private func walk(_ nodes: [Node], dot: GoValue) throws(Error) -> Flow {
        for n in nodes {
            switch n {
            case .text(let s):
                try spend(1, at: 0)
                try write(s, at: 0)
            case .action(let p):
                try spend(1, at: p.offset)
                let v = try pipeline(p, dot: dot)
                if p.declare.isEmpty { try write(v.printed(data), at: p.offset) }
            case .control(let c):
                let flow = try control(c, dot: dot)
                if flow != .normal { return flow }
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    private func control(_ c: GoTemplate.Control, dot: GoValue) throws(Error) -> Flow {
        try spend(1, at: c.offset)
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        if c.kind != .rangeNode {
            let v = try pipeline(c.pipe, dot: dot)
            if v.isTrue { return try walk(c.body, dot: c.kind == .withNode ? v : dot) }
            return try c.elseBody.map { (e) throws(Error) in try walk(e, dot: dot) } ?? .normal
        }
        var p = c.pipe
        p.declare = []
        let v = try pipeline(p, dot: dot)
        let items: [(key: GoValue, element: GoValue)]
        switch v {
        case .samples(let list): items = list.enumerated().map { (.int(Int64($0.offset)), .sample($0.element)) }
        case .map(let m):
            var out: [(key: GoValue, element: GoValue)] = []
            m.forEachInKeyOrder { k, value in out.append((.string(k), .string(value))) }
            items = out
        case .args(let m): items = m.keys.sorted().map { (.string($0), m[$0]!) }
        case .none: items = []
        default:
            throw Error(message: "range can't iterate over \(v.printed())", offset: c.pipe.offset, context: p.source)
        }
        if items.isEmpty {
            return try c.elseBody.map { (e) throws(Error) in try walk(e, dot: dot) } ?? .normal
        }
        // Declared variables: the element last (`$e` of `$i, $e`), the key or index before it.
        let declared = c.pipe.declare
        if !c.pipe.isAssign { for name in declared { vars.append((name, v)) } }
        for item in items {
            try spend(1, at: c.offset)
            if c.pipe.isAssign {
                if declared.count == 1 { set(declared[0], item.element) }
                if declared.count == 2 {
                    set(declared[0], item.key)
                    set(declared[1], item.element)
                }
            } else {
                if declared.count >= 1 { vars[vars.count - 1].value = item.element }
                if declared.count == 2 { vars[vars.count - 2].value = item.key }
            }
            let inner = vars.count
            let flow = try walk(c.body, dot: item.element)
            vars.removeLast(vars.count - inner)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func set(_ name: String, _ value: GoValue) {
        if let k = vars.lastIndex(where: { $0.name == name }) { vars[k].value = value }
    }

    private func pipeline(_ p: GoTemplate.Pipeline, dot: GoValue) throws(Error) -> GoValue {
        var piped: GoValue?
        for c in p.commands {
            piped = try command(c, piped, dot: dot)
        }
        let v = piped ?? .none
        for name in p.declare {
            if p.isAssign {
                set(name, v)
            } else {
                vars.append((name, v))
            }
        }
        return v
    }

    private func command(_ c: GoTemplate.Command, _ piped: GoValue?, dot: GoValue) throws(Error) -> GoValue {
        try spend(1, at: c.offset)
        guard case .function(let name) = c.args[0] else {
            return try operand(c.args[0], dot: dot)
        }
        func fail(_ message: String) -> Error { Error(message: message, offset: c.offset, context: c.source) }
        let rest = c.args.dropFirst()
        // `and` and `or` stop at the first argument that decides (Go 1.18).
        if name == "and" || name == "or" {
            let count = rest.count + (piped == nil ? 0 : 1)
            guard count >= 1 else { throw fail("wrong number of args for \(name): want at least 1 got 0") }
            var last = GoValue.none
            for a in rest {
                last = try operand(a, dot: dot)
                if last.isTrue != (name == "and") { return last }
            }
            if let piped { last = piped }
            return last
        }
        var args: [GoValue] = []
        args.reserveCapacity(c.args.count)
        for a in rest { args.append(try operand(a, dot: dot)) }
        if let piped { args.append(piped) }
        let result: GoValue
        do throws(TemplateFunctions.Failure) {
            result = try TemplateFunctions.call(name, args, data) { (n) throws(TemplateFunctions.Failure) in
                do throws(Error) { try self.spend(n, at: c.offset) } catch { throw .limit(error) }
            }
        } catch {
            switch error {
            case .call(let m): throw fail("error calling \(name): \(m)")
            case .plain(let m): throw fail(m)
            case .limit(let e): throw e
            }
        }
        // Long texts cost what making them costs, even when they are never written.
        if case .string(let text) = result { try spend(text.utf8.count / 256, at: c.offset) }
        return result
    }

    private func operand(_ o: GoTemplate.Operand, dot: GoValue) throws(Error) -> GoValue {
        switch o {
        case .function(let name):
            _ = name
            return try command(GoTemplate.Command(args: [o], offset: 0), nil, dot: dot)
        case .string(let s, _, _): return .string(s)
        case .float(let f, _): return .float(f)
        case .int(let i, _): return .int(i)
        case .bool(let b): return .bool(b)
        case .nilValue: return .none
        case .variable(let name, let fields, let offset):
            guard let v = vars.last(where: { $0.name == name })?.value else {
                throw Error(message: "undefined variable: \(name)", offset: offset, context: o.source)
            }
            return try field(v, fields, offset: offset, context: o.source)
        case .dot(let fields, let offset):
            return try field(dot, fields, offset: offset, context: o.source)
        case .pipeline(let p, let fields):
            return try field(try pipeline(p, dot: dot), fields, offset: p.offset, context: o.source)
        }
    }

    private func field(_ v: GoValue, _ fields: [String], offset: Int, context: String) throws(Error) -> GoValue {
        var v = v
        for f in fields {
            func fail() -> Error {
                Error(message: "can't evaluate field \(f) in type \(v.goType)", offset: offset, context: context)
            }
            switch v {
            case .data:
                switch f {
                case "Labels": v = .map(data.labels)
                case "ExternalLabels": v = .map(data.externalLabels)
                case "ExternalURL": v = .string(data.externalURL)
                case "Value": v = .float(data.value)
                default: throw fail()
                }
            case .sample(let s):
                switch f {
                case "Labels": v = .map(s.labels)
                case "Value": v = .float(s.value)
                default: throw fail()
                }
            case .map(let m):
                // Prometheus runs templates with missingkey=zero: a missing label is "".
                v = .string(m[f] ?? "")
            case .args(let m):
                v = m[f] ?? .none
            case .none:
                throw Error(message: "nil pointer evaluating interface {}.\(f)", offset: offset, context: context)
            default:
                throw fail()
            }
        }
        return v
    }
}
