using BenchmarkDotNet.Running;

namespace TransferTools.Benchmarks
{
    /// <summary>Runs the engine micro-benchmarks; arguments go to BenchmarkDotNet (e.g. --filter * --job short --inProcess).</summary>
    public static class Program
    {
        public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
