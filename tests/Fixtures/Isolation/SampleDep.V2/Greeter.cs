namespace SampleDep
{
    public static class Greeter
    {
        // Only in version 2: a plugin built against version 1 fails with MissingMethodException if it gets this one.
        public static string Describe(string caller) => caller + " uses SampleDep " + typeof(Greeter).Assembly.GetName().Version;
    }
}
