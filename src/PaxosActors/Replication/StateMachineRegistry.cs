using System.Text;
using Akka.Configuration;

namespace PaxosActors.Replication;

/// <summary>A state machine a role registered: its name, how to build it empty, and which role it belongs to.</summary>
public sealed record StateMachineRegistration(string Name, Func<IReplicatedStateMachine> Create, string Role, bool OwnsUnframedCommands)
{
    internal byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(Name);
}

/// <summary>
/// The replicated state machines of one node, by name (<see cref="Hosting.NodeContext.StateMachines"/>). Roles register
/// theirs in <see cref="Hosting.INodeRole.Configure"/>; the learner then applies every chosen slot to all of them
/// (<see cref="CompositeStateMachine"/>). A name belongs to one role: a second registration fails the start.
/// </summary>
public sealed class StateMachineRegistry
{
    private readonly List<StateMachineRegistration> _registrations = new();
    private bool _sealed;

    /// <summary>The role whose Configure is running, for error messages.</summary>
    internal string ConfiguringRole { get; set; } = "(code)";

    public IReadOnlyList<StateMachineRegistration> Registrations => _registrations;

    public IReadOnlyList<string> Names => _registrations.Select(r => r.Name).ToList();

    /// <summary>Registers the state machine <paramref name="name"/>: commands framed with that name
    /// (<see cref="CommandFrame"/>, <see cref="CommandClient.SubmitAsync"/>) are applied to it in log order.
    /// <paramref name="create"/> builds it empty: when the learner starts, and when a snapshot without its state is
    /// installed. A role that owns replicated state must run on every learner node (README, "Adding a role").</summary>
    /// <exception cref="ConfigurationException">Another role registered the name already.</exception>
    public void Register(string name, Func<IReplicatedStateMachine> create) => Register(name, create, ownsUnframedCommands: false);

    /// <summary><see cref="Register(string, Func{IReplicatedStateMachine})"/>; with <paramref name="ownsUnframedCommands"/>
    /// the machine also gets the commands and snapshots of a log written before commands were framed (the KV store's: only
    /// it wrote such logs).</summary>
    public void Register(string name, Func<IReplicatedStateMachine> create, bool ownsUnframedCommands)
    {
        ArgumentNullException.ThrowIfNull(create);
        if (_sealed)
            throw new InvalidOperationException($"the state machine '{name}' is registered after the learner started: register it in INodeRole.Configure");
        if (!CommandFrame.IsValidName(name))
            throw new ConfigurationException($"role {ConfiguringRole}: '{name}' is not a state machine name (1 to {CommandFrame.MaxNameBytes} characters of A-Z a-z 0-9 . _ -)");
        if (_registrations.FirstOrDefault(r => r.Name == name) is { } taken)
            throw new ConfigurationException($"akka.cluster.roles: roles {taken.Role} and {ConfiguringRole} both register the state machine '{name}'; a name belongs to one role");
        if (ownsUnframedCommands && _registrations.FirstOrDefault(r => r.OwnsUnframedCommands) is { } other)
            throw new ConfigurationException($"akka.cluster.roles: state machines '{other.Name}' and '{name}' both claim the unframed commands of old logs");
        _registrations.Add(new StateMachineRegistration(name, create, ConfiguringRole, ownsUnframedCommands));
    }

    internal void Seal() => _sealed = true;
}
