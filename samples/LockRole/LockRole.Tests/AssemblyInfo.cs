// The cluster spec runs three nodes in this process on a 2-core machine: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
