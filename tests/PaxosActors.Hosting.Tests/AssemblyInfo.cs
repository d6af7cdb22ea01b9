// Every spec here starts ActorSystems that form Akka clusters on loopback: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
