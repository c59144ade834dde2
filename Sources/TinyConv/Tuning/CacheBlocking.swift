/// GEMM cache blocking from the cache geometry, by the analytical model of Low, Igual,
/// Smith and Quintana-Orti ("Analytical modeling is enough for high-performance BLIS",
/// ACM TOMS 2016), for the driver's BLIS loop order (gemm.c): the kc x nr micro-panel of B
/// stays in L1 while mr x kc micro-panels of A stream past it; the mc x kc block of A stays
/// in L2; the kc x nc block of B in this core's share of L3. A candidate beside the ISA's
/// fixed {192, 512, 16 panels}: the tuner keeps whichever is faster here.
public enum CacheBlocking {
    /// nil when the caches are unknown (no sysfs).
    public static func analytical(tile: KernelChoice.Tile, cpu: CPUIdentity) -> KernelChoice.Blocking? {
        guard let l1 = cpu.cache(level: 1), let l2 = cpu.cache(level: 2) else { return nil }
        let mr = Double(tile.rows), nr = Double(tile.columns), s = 4.0  // fp32
        // kc: the ways of one L1 set the A micro-panel may take, leaving the rest to B's.
        let waysA = max(1.0, ((Double(l1.ways) - 1) / (1 + nr / mr)).rounded(.down))
        var kc = Int(waysA * Double(l1.sets * l1.lineBytes) / (mr * s))
        kc = max(16, min(1024, kc / 8 * 8))
        // mc: L2 minus the ways B's micro-panel occupies (and one for C and streaming), for A's block.
        let waysB2 = (Double(kc) * nr * s / Double(l2.sets * l2.lineBytes)).rounded(.up)
        let waysA2 = max(1.0, Double(l2.ways) - 1 - waysB2)
        var mc = Int(waysA2 * Double(l2.sets * l2.lineBytes) / (Double(kc) * s))
        mc = max(tile.rows, min(2048, mc / tile.rows * tile.rows))
        // nc: this core's share of L3 minus A's block, for B's block (L2 when there is no L3).
        let l3 = cpu.cache(level: 3)
        let shareBytes = Double(l3.map { $0.bytes / max($0.sharedBy, 1) } ?? l2.bytes)
        let left = max(shareBytes - Double(mc * kc) * s, Double(kc) * nr * s)
        var nc = Int(left / (Double(kc) * s))
        nc = max(tile.columns, min(4096, nc / tile.columns * tile.columns))
        return KernelChoice.Blocking(kc: kc, nc: nc, mc: mc)
    }
}
