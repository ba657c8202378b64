namespace SampleDep
{
    public static class Greeter
    {
        // Only in version 1.
        public static string Describe() => "SampleDep " + typeof(Greeter).Assembly.GetName().Version;
    }
}
