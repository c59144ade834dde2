import ArgumentParser

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure TinyConv: kernels at layer shapes, and full training steps of model variants.",
        discussion: "Without a subcommand bench runs `step`; `bench step --help` lists its options (--variant, --model, --batch-size, --threads, --scheduler, --shard-size, --seed, --isa, --tune, --warmup, --steps, --repeats, --inference, --no-profile, --no-fusion, --json, --csv, --trace).",
        subcommands: [StepCommand.self, KernelsCommand.self, TuneCommand.self, ScalingCommand.self, PlotProfileCommand.self, PlotCurvesCommand.self],
        defaultSubcommand: StepCommand.self)
}
