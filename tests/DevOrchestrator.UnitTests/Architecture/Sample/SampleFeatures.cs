// Three sample "feature folders" for FeatureCycleTests: Alpha and Beta use each other (an injected cycle), Gamma uses
// Alpha one way.
#pragma warning disable CA1822, IDE0051, IDE0052, CS0169
namespace DevOrchestrator.UnitTests.Architecture.Sample.Alpha
{
    internal sealed class AlphaThing
    {
        private readonly Beta.BetaThing? _beta;
    }
}

namespace DevOrchestrator.UnitTests.Architecture.Sample.Beta
{
    internal sealed class BetaThing
    {
        public object Make() => new Alpha.AlphaThing();
    }
}

namespace DevOrchestrator.UnitTests.Architecture.Sample.Gamma
{
    internal sealed class GammaThing
    {
        public Alpha.AlphaThing? Alpha { get; set; }
    }
}
