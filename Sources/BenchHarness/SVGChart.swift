import TinyConv
import Foundation

/// Minimal SVG charts (no dependencies): grouped stacked bars for per-layer profiles
/// and small-multiple line charts for training curves.
public enum SVGChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Grouped bars: one group per category, one bar per series, each bar stacked from
    /// `stacks` segments (e.g. forward then backward); values[series][category][stack].
    public static func groupedStackedBars(title: String, categories: [String], series: [String], stacks: [String],
                                          values: [[[Double]]], unit: String) -> String {
        let width = 120 + categories.count * (series.count * 26 + 24), height = 420
        let plotTop = 60.0, plotBottom = Double(height) - 70, plotLeft = 70.0
        let maxValue = max(values.flatMap { $0.map { $0.reduce(0, +) } }.max() ?? 1, 1e-9)
        let scale = (plotBottom - plotTop) / niceCeil(maxValue)
        var out = header(width: width, height: height, title: title)
        out += axis(left: plotLeft, top: plotTop, bottom: plotBottom, right: Double(width) - 20, maxValue: niceCeil(maxValue), unit: unit)
        for (c, cat) in categories.enumerated() {
            let x0 = plotLeft + 12 + Double(c * (series.count * 26 + 24))
            for (s, _) in series.enumerated() {
                var y = plotBottom
                for (k, v) in values[s][c].enumerated() where v > 0 {
                    let h = v * scale
                    let color = palette[s % palette.count]
                    out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"%.1f\" fill=\"%@\" fill-opacity=\"%.2f\"><title>%@ %@ %@: %.3f %@</title></rect>\n",
                                  x0 + Double(s * 26), y - h, h, color, k == 0 ? 1.0 : 0.45, esc(series[s]), esc(cat), esc(stacks[k]), v, unit)
                    y -= h
                }
            }
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                          x0 + Double(series.count * 26) / 2, plotBottom + 18, esc(cat))
        }
        var ly = Double(height) - 30
        var lx = plotLeft
        for (s, name) in series.enumerated() {
            for (k, st) in stacks.enumerated() {
                out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%@\" fill-opacity=\"%.2f\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">%@ %@</text>\n",
                              lx, ly, palette[s % palette.count], k == 0 ? 1.0 : 0.45, lx + 16, ly + 11, esc(name), esc(st))
                lx += 24 + Double((name.count + st.count + 1) * 7)
                if lx > Double(width) - 150 { lx = plotLeft; ly += 16 }
            }
        }
        return out + "</svg>\n"
    }

    /// Small multiples: one panel per metric, one line per series; points[metric][series] = [(x, y)].
    public static func lineCharts(title: String, panels: [String], series: [String], points: [[[(Double, Double)]]]) -> String {
        let pw = 360.0, ph = 240.0, cols = 2
        let rows = (panels.count + cols - 1) / cols
        let width = Int(Double(cols) * pw) + 40, height = Int(Double(rows) * ph) + 130
        var out = header(width: width, height: height, title: title)
        for (p, name) in panels.enumerated() {
            let ox = 20 + Double(p % cols) * pw, oy = 50 + Double(p / cols) * ph
            let left = ox + 55, right = ox + pw - 15, top = oy + 25, bottom = oy + ph - 35
            let all = points[p].flatMap { $0 }
            guard let xMin = all.map(\.0).min(), let xMax = all.map(\.0).max(),
                  var yMin = all.map(\.1).min(), var yMax = all.map(\.1).max() else { continue }
            if yMax - yMin < 1e-9 { yMax += 0.5; yMin -= 0.5 }
            let pad = (yMax - yMin) * 0.05
            yMin -= pad; yMax += pad
            func X(_ x: Double) -> Double { left + (x - xMin) / max(xMax - xMin, 1e-9) * (right - left) }
            func Y(_ y: Double) -> Double { bottom - (y - yMin) / (yMax - yMin) * (bottom - top) }
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">%@</text>\n", left, oy + 15, esc(name))
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", left, top, right - left, bottom - top)
            for k in 0...4 {
                let v = yMin + (yMax - yMin) * Double(k) / 4
                out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%@</text>\n", left - 4, Y(v) + 3, label(v))
            }
            for x in stride(from: xMin, through: xMax, by: 1) {
                out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", X(x), bottom + 13, Int(x))
            }
            for (s, line) in points[p].enumerated() where !line.isEmpty {
                let d = line.map { String(format: "%.1f,%.1f", X($0.0), Y($0.1)) }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(palette[s % palette.count])\" stroke-width=\"1.8\" points=\"\(d)\"><title>\(esc(series[s]))</title></polyline>\n"
            }
        }
        var lx = 30.0
        var ly = Double(height) - 60
        for (s, name) in series.enumerated() {
            let w = 40 + Double(name.count * 7)
            if lx + w > Double(width) - 10 { lx = 30; ly += 18 }  // wrap the legend
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">%@</text>\n",
                          lx, ly, lx + 18, ly, palette[s % palette.count], lx + 22, ly + 4, esc(name))
            lx += w
        }
        return out + "</svg>\n"
    }

    static func header(width: Int, height: Int, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + "<text x=\"20\" y=\"28\" font-size=\"16\" font-weight=\"bold\">\(esc(title))</text>\n"
    }

    static func axis(left: Double, top: Double, bottom: Double, right: Double, maxValue: Double, unit: String) -> String {
        var out = String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", left, bottom, right, bottom)
        for k in 0...5 {
            let v = maxValue * Double(k) / 5, y = bottom - (bottom - top) * Double(k) / 5
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%@</text>\n",
                          left, y, right, y, left - 6, y + 4, label(v))
        }
        out += String(format: "<text x=\"14\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">%@</text>\n",
                      (top + bottom) / 2, (top + bottom) / 2, esc(unit))
        return out
    }

    static func label(_ v: Double) -> String {
        abs(v) >= 100 ? String(format: "%.0f", v) : abs(v) >= 1 ? String(format: "%.2f", v) : String(format: "%.4f", v)
    }

    static func niceCeil(_ x: Double) -> Double {
        let p = pow(10, floor(log10(x)))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= x { return m * p }
        return 10 * p
    }
}
