import LookoutCore

/// A flame graph as one self-contained SVG document: root at the bottom, each frame as wide
/// as its share of the samples, children sorted by name (as flamegraph.pl draws them), a
/// tooltip with the count and share, and a few lines of script: a click zooms into a frame,
/// a click on the root (or on "Reset zoom") zooms out. No external resources.
public enum FlameGraph {
    /// A title line: what, how many samples, over how long.
    static func heading(_ title: String, stacks: [(frames: [String], count: Int64)], duration: Duration) -> String {
        let samples = stacks.reduce(0) { $0 + $1.count }
        let tenths = duration.nanoseconds / 100_000_000
        return "\(title): \(samples) samples in \(tenths / 10).\(tenths % 10) s"
    }

    /// `stacks`: frames root first, and each stack's sample count.
    public static func svg(stacks: [(frames: [String], count: Int64)], title: String, unit: String = "samples") -> String {
        // The tree of frames.
        var nodes: [Node] = [Node(name: "all", parent: -1, depth: 0)]
        var total: Int64 = 0
        for (frames, count) in stacks where count > 0 {
            total += count
            nodes[0].value += count
            var at = 0
            for name in frames {
                if let child = nodes[at].children[name] {
                    at = child
                } else {
                    let child = nodes.count
                    nodes.append(Node(name: name, parent: at, depth: nodes[at].depth + 1))
                    nodes[at].children[name] = child
                    at = child
                }
                nodes[at].value += count
            }
        }

        let width = 1200.0
        let margin = 10.0
        let frameHeight = 16.0
        let minWidth = 0.1
        let usable = width - 2 * margin
        // Positions: x as a fraction of the total, laid out depth first.
        var x = [Double](repeating: 0, count: nodes.count)
        var maxDepth = 0
        var order: [Int] = []
        var stack = [0]
        while let i = stack.popLast() {
            order.append(i)
            maxDepth = max(maxDepth, nodes[i].depth)
            var next = x[i]
            let children = nodes[i].children.sorted { $0.key < $1.key }.map(\.value)
            for c in children {
                x[c] = next
                next += total > 0 ? Double(nodes[c].value) / Double(total) : 0
            }
            stack.append(contentsOf: children.reversed())
        }
        let height = Double(maxDepth + 1) * frameHeight + 60
        var out = ""
        out.reserveCapacity(256 + nodes.count * 200)
        out += """
            <?xml version="1.0" standalone="no"?>
            <svg version="1.1" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            xmlns="http://www.w3.org/2000/svg" onload="init(evt)">
            <style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}g:hover rect{stroke:#000;stroke-width:0.5}\
            .h{font-size:17px;text-anchor:middle}#reset{cursor:pointer;opacity:0}</style>
            <rect width="100%" height="100%" fill="#f8f8f8"/>
            <text class="h" x="\(Int(width / 2))" y="24">\(escape(title))</text>
            <text id="reset" x="\(Int(margin))" y="24" onclick="zoom(null)">Reset zoom</text>
            <text id="details" x="\(Int(margin))" y="\(Int(height - 8))"> </text>
            <g id="frames">

            """
        for i in order {
            let n = nodes[i]
            let fraction = total > 0 ? Double(n.value) / Double(total) : 0
            let w = fraction * usable
            guard w >= minWidth else { continue }
            let px = margin + x[i] * usable
            let py = height - 40 - Double(n.depth + 1) * frameHeight
            let share = (fraction * 10000).rounded() / 100
            let label = n.depth == 0 ? "all (\(total) \(unit))" : n.name
            out += "<g data-x=\"\(x[i])\" data-w=\"\(fraction)\" data-d=\"\(n.depth)\" onclick=\"zoom(this)\">"
            out += "<title>\(escape(label)) (\(n.value) \(unit), \(share)%)</title>"
            out += "<rect x=\"\(format(px))\" y=\"\(format(py))\" width=\"\(format(w))\" height=\"\(format(frameHeight - 1))\" "
            out += "fill=\"\(color(n.name, root: n.depth == 0))\" rx=\"2\"/>"
            out += "<text x=\"\(format(px + 3))\" y=\"\(format(py + frameHeight - 4.5))\">\(escape(fit(label, w)))</text></g>\n"
        }
        out += """
            </g>
            <script><![CDATA[
            var W=\(usable),M=\(margin),frames,reset,details;
            function init(e){frames=document.getElementById("frames").children;reset=document.getElementById("reset");
            details=document.getElementById("details");for(var i=0;i<frames.length;i++){var g=frames[i];
            g.onmouseover=function(){details.textContent=this.firstChild.textContent};}}
            function fit(t,w){var n=Math.floor((w-6)/7);return n<3?"":t.length<=n?t:t.substring(0,n-2)+".."}
            function zoom(z){var x0=z?+z.dataset.x:0,w0=z?+z.dataset.w:1,d0=z?+z.dataset.d:0;
            if(z&&d0==0){z=null;x0=0;w0=1}reset.style.opacity=z?1:0;
            for(var i=0;i<frames.length;i++){var g=frames[i],x=+g.dataset.x,w=+g.dataset.w,d=+g.dataset.d,r=g.children[1],t=g.children[2];
            var inside=x>=x0-1e-12&&x+w<=x0+w0+1e-12,above=d>=d0;
            if(!(inside&&above)&&!(d<d0&&x<=x0+1e-12&&x+w>=x0+w0-1e-12)){g.style.display="none";continue}
            g.style.display="";var nx=d<d0?0:(x-x0)/w0,nw=d<d0?1:w/w0;
            r.setAttribute("x",M+nx*W);r.setAttribute("width",nw*W);t.setAttribute("x",M+nx*W+3);
            t.textContent=fit(g.firstChild.textContent.replace(/ \\([0-9]+ [a-z]+, [0-9.]+%\\)$/,""),nw*W)}}
            ]]></script>
            </svg>

            """
        return out
    }

    private struct Node {
        var name: String
        var parent: Int
        var depth: Int
        var value: Int64 = 0
        var children: [String: Int] = [:]
    }

    /// The label cut to what fits in `width` pixels (about 7 px a character at 12 px).
    static func fit(_ s: String, _ width: Double) -> String {
        let n = Int((width - 6) / 7)
        guard n >= 3 else { return "" }
        if s.count <= n { return s }
        return String(s.prefix(n - 2)) + ".."
    }

    /// flamegraph.pl's warm palette, picked by a hash of the name so a function keeps its
    /// color across graphs; the root is grey.
    static func color(_ name: String, root: Bool) -> String {
        if root { return "rgb(200,200,200)" }
        var h: UInt32 = 2_166_136_261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        let r = 205 + Int(h % 50)
        let g = Int((h >> 8) % 180)
        let b = Int((h >> 16) % 55)
        return "rgb(\(r),\(g),\(b))"
    }

    static func format(_ v: Double) -> String {
        let scaled = (v * 100).rounded() / 100
        return scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
    }

    /// XML text and attribute escaping.
    static func escape(_ s: String) -> String { Markup.escaped(s) }
}
