using System.Reflection;

namespace MemoryLab.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args is ["--version"])
        {
            Console.WriteLine(typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");
            return 0;
        }
        Console.Error.WriteLine("memlab: no command given (try --version)");
        return 2;
    }
}
