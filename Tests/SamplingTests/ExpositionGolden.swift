/// The sampler's exposition of `ExpositionGoldenTests`' fixture: text 0.0.4 and OpenMetrics 1.0.
enum Golden {
    static let text = #"""
# HELP lookout_cgroup_cpu_periods_total CPU quota periods of the agent's cgroup that have elapsed.
# TYPE lookout_cgroup_cpu_periods_total counter
lookout_cgroup_cpu_periods_total 20
# HELP lookout_cgroup_cpu_throttled_periods_total CPU quota periods in which the agent's cgroup was throttled.
# TYPE lookout_cgroup_cpu_throttled_periods_total counter
lookout_cgroup_cpu_throttled_periods_total 5
# HELP lookout_cgroup_cpu_throttled_seconds_total Time the agent's cgroup was throttled by its CPU quota.
# TYPE lookout_cgroup_cpu_throttled_seconds_total counter
lookout_cgroup_cpu_throttled_seconds_total 0.75
# HELP lookout_cgroup_cpu_usage_seconds_total CPU time used by the agent's cgroup.
# TYPE lookout_cgroup_cpu_usage_seconds_total counter
lookout_cgroup_cpu_usage_seconds_total 2.5
# HELP lookout_host_cpu_seconds_total Seconds the CPUs spent in each mode, from /proc/stat.
# TYPE lookout_host_cpu_seconds_total counter
lookout_host_cpu_seconds_total{cpu="0",mode="user"} 10.37
lookout_host_cpu_seconds_total{cpu="0",mode="nice"} 0
lookout_host_cpu_seconds_total{cpu="0",mode="system"} 5
lookout_host_cpu_seconds_total{cpu="0",mode="idle"} 1000.58
lookout_host_cpu_seconds_total{cpu="0",mode="iowait"} 0.1
lookout_host_cpu_seconds_total{cpu="0",mode="irq"} 0
lookout_host_cpu_seconds_total{cpu="0",mode="softirq"} 0.05
lookout_host_cpu_seconds_total{cpu="0",mode="steal"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="user"} 10
lookout_host_cpu_seconds_total{cpu="1",mode="nice"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="system"} 5
lookout_host_cpu_seconds_total{cpu="1",mode="idle"} 1000.95
lookout_host_cpu_seconds_total{cpu="1",mode="iowait"} 0.1
lookout_host_cpu_seconds_total{cpu="1",mode="irq"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="softirq"} 0.05
lookout_host_cpu_seconds_total{cpu="1",mode="steal"} 0
# HELP lookout_host_cpu_utilization_peak_ratio Max per-tick utilization of all CPUs in the last peak_window.
# TYPE lookout_host_cpu_utilization_peak_ratio gauge
lookout_host_cpu_utilization_peak_ratio 0.3
# HELP lookout_host_cpu_utilization_ratio Busy fraction of all CPUs over each sample tick.
# TYPE lookout_host_cpu_utilization_ratio histogram
lookout_host_cpu_utilization_ratio_bucket{le="0.05"} 0
lookout_host_cpu_utilization_ratio_bucket{le="0.1"} 10
lookout_host_cpu_utilization_ratio_bucket{le="0.2"} 10
lookout_host_cpu_utilization_ratio_bucket{le="0.3"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.4"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.5"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.6"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.7"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.8"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.9"} 19
lookout_host_cpu_utilization_ratio_bucket{le="1"} 19
lookout_host_cpu_utilization_ratio_bucket{le="1.5"} 19
lookout_host_cpu_utilization_ratio_bucket{le="2"} 19
lookout_host_cpu_utilization_ratio_bucket{le="4"} 19
lookout_host_cpu_utilization_ratio_bucket{le="8"} 19
lookout_host_cpu_utilization_ratio_bucket{le="+Inf"} 19
lookout_host_cpu_utilization_ratio_sum 3.6999999999999997
lookout_host_cpu_utilization_ratio_count 19
# HELP lookout_host_pressure_cpu_waiting_seconds_total Time runnable tasks waited for a CPU (PSI some), from /proc/pressure/cpu.
# TYPE lookout_host_pressure_cpu_waiting_seconds_total counter
lookout_host_pressure_cpu_waiting_seconds_total 1.5
# HELP lookout_process_blocked_samples_total Sample ticks that found a thread of the group in uninterruptible sleep, by wait channel.
# TYPE lookout_process_blocked_samples_total counter
lookout_process_blocked_samples_total{group="db",wchan="io_schedule"} 21
# HELP lookout_process_context_switches_total Context switches of the group's threads, by type.
# TYPE lookout_process_context_switches_total counter
lookout_process_context_switches_total{group="api",type="voluntary"} 172
lookout_process_context_switches_total{group="api",type="nonvoluntary"} 4
lookout_process_context_switches_total{group="db",type="voluntary"} 0
lookout_process_context_switches_total{group="db",type="nonvoluntary"} 0
lookout_process_context_switches_total{group="lookout",type="voluntary"} 0
lookout_process_context_switches_total{group="lookout",type="nonvoluntary"} 0
# HELP lookout_process_count Processes in the group.
# TYPE lookout_process_count gauge
lookout_process_count{group="api"} 1
lookout_process_count{group="db"} 1
lookout_process_count{group="lookout"} 1
# HELP lookout_process_cpu_seconds_total CPU time of the group's processes, by mode.
# TYPE lookout_process_cpu_seconds_total counter
lookout_process_cpu_seconds_total{group="api",mode="user"} 1.75
lookout_process_cpu_seconds_total{group="api",mode="system"} 0.33
lookout_process_cpu_seconds_total{group="db",mode="user"} 0
lookout_process_cpu_seconds_total{group="db",mode="system"} 0
lookout_process_cpu_seconds_total{group="lookout",mode="user"} 0.4
lookout_process_cpu_seconds_total{group="lookout",mode="system"} 0.1
# HELP lookout_process_cpu_utilization_peak_ratio Max per-tick CPU utilization of the group in the last peak_window (1.0 = one full core).
# TYPE lookout_process_cpu_utilization_peak_ratio gauge
lookout_process_cpu_utilization_peak_ratio{group="api"} 5.833000104994002
lookout_process_cpu_utilization_peak_ratio{group="db"} 0
lookout_process_cpu_utilization_peak_ratio{group="lookout"} 0
# HELP lookout_process_cpu_utilization_ratio CPU used by the group over each sample tick (1.0 = one full core).
# TYPE lookout_process_cpu_utilization_ratio histogram
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.05"} 1
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.1"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.2"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.3"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.4"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.5"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.6"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.7"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.8"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.9"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="1"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="1.5"} 4
lookout_process_cpu_utilization_ratio_bucket{group="api",le="2"} 4
lookout_process_cpu_utilization_ratio_bucket{group="api",le="4"} 19
lookout_process_cpu_utilization_ratio_bucket{group="api",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="api",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_sum{group="api"} 38.361000690498
lookout_process_cpu_utilization_ratio_count{group="api"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.05"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.3"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.6"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.7"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.9"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="1.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_sum{group="db"} 0
lookout_process_cpu_utilization_ratio_count{group="db"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.05"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.3"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.6"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.7"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.9"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="1.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_sum{group="lookout"} 0
lookout_process_cpu_utilization_ratio_count{group="lookout"} 20
# HELP lookout_process_mutex_wait_samples_total Sample ticks that found a thread of the group waiting in futex.
# TYPE lookout_process_mutex_wait_samples_total counter
lookout_process_mutex_wait_samples_total{group="api"} 0
lookout_process_mutex_wait_samples_total{group="db"} 21
lookout_process_mutex_wait_samples_total{group="lookout"} 0
# HELP lookout_process_open_fds Open file descriptors of the group's processes.
# TYPE lookout_process_open_fds gauge
lookout_process_open_fds{group="api"} 7
lookout_process_open_fds{group="db"} 3
lookout_process_open_fds{group="lookout"} 3
# HELP lookout_process_resident_memory_bytes Resident memory of the group's processes.
# TYPE lookout_process_resident_memory_bytes gauge
lookout_process_resident_memory_bytes{group="api"} 8388608
lookout_process_resident_memory_bytes{group="db"} 409600
lookout_process_resident_memory_bytes{group="lookout"} 409600
# HELP lookout_process_threads Threads of the group's processes.
# TYPE lookout_process_threads gauge
lookout_process_threads{group="api"} 3
lookout_process_threads{group="db"} 2
lookout_process_threads{group="lookout"} 1
# HELP lookout_sampler_enabled Whether a sampling profile is on (1) or off (0).
# TYPE lookout_sampler_enabled gauge
lookout_sampler_enabled{profile="cpu"} 1
lookout_sampler_enabled{profile="block"} 1
lookout_sampler_enabled{profile="mutex"} 1
# HELP lookout_sampler_frequency_hertz Configured sampling frequency.
# TYPE lookout_sampler_frequency_hertz gauge
lookout_sampler_frequency_hertz 19
# HELP lookout_sampler_missed_ticks_total Sample ticks skipped because the previous tick overran or woke up late.
# TYPE lookout_sampler_missed_ticks_total counter
lookout_sampler_missed_ticks_total 0
# HELP lookout_sampler_tick_duration_seconds Time spent in one sample tick.
# TYPE lookout_sampler_tick_duration_seconds histogram
lookout_sampler_tick_duration_seconds_bucket{le="1e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="2.5e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="5e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0001"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.00025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0005"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.001"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.005"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.01"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.1"} 21
lookout_sampler_tick_duration_seconds_bucket{le="+Inf"} 21
lookout_sampler_tick_duration_seconds_sum 0
lookout_sampler_tick_duration_seconds_count 21
# HELP lookout_sampler_ticks_total Sample ticks done.
# TYPE lookout_sampler_ticks_total counter
lookout_sampler_ticks_total 21
# HELP lookout_thread_cpu_seconds_total CPU time of the group's threads, by thread name.
# TYPE lookout_thread_cpu_seconds_total counter
lookout_thread_cpu_seconds_total{group="api",thread="api"} 1.095
lookout_thread_cpu_seconds_total{group="api",thread="worker"} 2.674

"""#

    static let openMetrics = #"""
# HELP lookout_cgroup_cpu_periods CPU quota periods of the agent's cgroup that have elapsed.
# TYPE lookout_cgroup_cpu_periods counter
lookout_cgroup_cpu_periods_total 20
# HELP lookout_cgroup_cpu_throttled_periods CPU quota periods in which the agent's cgroup was throttled.
# TYPE lookout_cgroup_cpu_throttled_periods counter
lookout_cgroup_cpu_throttled_periods_total 5
# HELP lookout_cgroup_cpu_throttled_seconds Time the agent's cgroup was throttled by its CPU quota.
# TYPE lookout_cgroup_cpu_throttled_seconds counter
# UNIT lookout_cgroup_cpu_throttled_seconds seconds
lookout_cgroup_cpu_throttled_seconds_total 0.75
# HELP lookout_cgroup_cpu_usage_seconds CPU time used by the agent's cgroup.
# TYPE lookout_cgroup_cpu_usage_seconds counter
# UNIT lookout_cgroup_cpu_usage_seconds seconds
lookout_cgroup_cpu_usage_seconds_total 2.5
# HELP lookout_host_cpu_seconds Seconds the CPUs spent in each mode, from /proc/stat.
# TYPE lookout_host_cpu_seconds counter
# UNIT lookout_host_cpu_seconds seconds
lookout_host_cpu_seconds_total{cpu="0",mode="user"} 10.37
lookout_host_cpu_seconds_total{cpu="0",mode="nice"} 0
lookout_host_cpu_seconds_total{cpu="0",mode="system"} 5
lookout_host_cpu_seconds_total{cpu="0",mode="idle"} 1000.58
lookout_host_cpu_seconds_total{cpu="0",mode="iowait"} 0.1
lookout_host_cpu_seconds_total{cpu="0",mode="irq"} 0
lookout_host_cpu_seconds_total{cpu="0",mode="softirq"} 0.05
lookout_host_cpu_seconds_total{cpu="0",mode="steal"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="user"} 10
lookout_host_cpu_seconds_total{cpu="1",mode="nice"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="system"} 5
lookout_host_cpu_seconds_total{cpu="1",mode="idle"} 1000.95
lookout_host_cpu_seconds_total{cpu="1",mode="iowait"} 0.1
lookout_host_cpu_seconds_total{cpu="1",mode="irq"} 0
lookout_host_cpu_seconds_total{cpu="1",mode="softirq"} 0.05
lookout_host_cpu_seconds_total{cpu="1",mode="steal"} 0
# HELP lookout_host_cpu_utilization_peak_ratio Max per-tick utilization of all CPUs in the last peak_window.
# TYPE lookout_host_cpu_utilization_peak_ratio gauge
# UNIT lookout_host_cpu_utilization_peak_ratio ratio
lookout_host_cpu_utilization_peak_ratio 0.3
# HELP lookout_host_cpu_utilization_ratio Busy fraction of all CPUs over each sample tick.
# TYPE lookout_host_cpu_utilization_ratio histogram
# UNIT lookout_host_cpu_utilization_ratio ratio
lookout_host_cpu_utilization_ratio_bucket{le="0.05"} 0
lookout_host_cpu_utilization_ratio_bucket{le="0.1"} 10
lookout_host_cpu_utilization_ratio_bucket{le="0.2"} 10
lookout_host_cpu_utilization_ratio_bucket{le="0.3"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.4"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.5"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.6"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.7"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.8"} 19
lookout_host_cpu_utilization_ratio_bucket{le="0.9"} 19
lookout_host_cpu_utilization_ratio_bucket{le="1"} 19
lookout_host_cpu_utilization_ratio_bucket{le="1.5"} 19
lookout_host_cpu_utilization_ratio_bucket{le="2"} 19
lookout_host_cpu_utilization_ratio_bucket{le="4"} 19
lookout_host_cpu_utilization_ratio_bucket{le="8"} 19
lookout_host_cpu_utilization_ratio_bucket{le="+Inf"} 19
lookout_host_cpu_utilization_ratio_count 19
lookout_host_cpu_utilization_ratio_sum 3.6999999999999997
# HELP lookout_host_pressure_cpu_waiting_seconds Time runnable tasks waited for a CPU (PSI some), from /proc/pressure/cpu.
# TYPE lookout_host_pressure_cpu_waiting_seconds counter
# UNIT lookout_host_pressure_cpu_waiting_seconds seconds
lookout_host_pressure_cpu_waiting_seconds_total 1.5
# HELP lookout_process_blocked_samples Sample ticks that found a thread of the group in uninterruptible sleep, by wait channel.
# TYPE lookout_process_blocked_samples counter
lookout_process_blocked_samples_total{group="db",wchan="io_schedule"} 21
# HELP lookout_process_context_switches Context switches of the group's threads, by type.
# TYPE lookout_process_context_switches counter
lookout_process_context_switches_total{group="api",type="voluntary"} 172
lookout_process_context_switches_total{group="api",type="nonvoluntary"} 4
lookout_process_context_switches_total{group="db",type="voluntary"} 0
lookout_process_context_switches_total{group="db",type="nonvoluntary"} 0
lookout_process_context_switches_total{group="lookout",type="voluntary"} 0
lookout_process_context_switches_total{group="lookout",type="nonvoluntary"} 0
# HELP lookout_process_count Processes in the group.
# TYPE lookout_process_count gauge
lookout_process_count{group="api"} 1
lookout_process_count{group="db"} 1
lookout_process_count{group="lookout"} 1
# HELP lookout_process_cpu_seconds CPU time of the group's processes, by mode.
# TYPE lookout_process_cpu_seconds counter
# UNIT lookout_process_cpu_seconds seconds
lookout_process_cpu_seconds_total{group="api",mode="user"} 1.75
lookout_process_cpu_seconds_total{group="api",mode="system"} 0.33
lookout_process_cpu_seconds_total{group="db",mode="user"} 0
lookout_process_cpu_seconds_total{group="db",mode="system"} 0
lookout_process_cpu_seconds_total{group="lookout",mode="user"} 0.4
lookout_process_cpu_seconds_total{group="lookout",mode="system"} 0.1
# HELP lookout_process_cpu_utilization_peak_ratio Max per-tick CPU utilization of the group in the last peak_window (1.0 = one full core).
# TYPE lookout_process_cpu_utilization_peak_ratio gauge
# UNIT lookout_process_cpu_utilization_peak_ratio ratio
lookout_process_cpu_utilization_peak_ratio{group="api"} 5.833000104994002
lookout_process_cpu_utilization_peak_ratio{group="db"} 0
lookout_process_cpu_utilization_peak_ratio{group="lookout"} 0
# HELP lookout_process_cpu_utilization_ratio CPU used by the group over each sample tick (1.0 = one full core).
# TYPE lookout_process_cpu_utilization_ratio histogram
# UNIT lookout_process_cpu_utilization_ratio ratio
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.05"} 1
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.1"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.2"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.3"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.4"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.5"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.6"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.7"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.8"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="0.9"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="1"} 3
lookout_process_cpu_utilization_ratio_bucket{group="api",le="1.5"} 4
lookout_process_cpu_utilization_ratio_bucket{group="api",le="2"} 4
lookout_process_cpu_utilization_ratio_bucket{group="api",le="4"} 19
lookout_process_cpu_utilization_ratio_bucket{group="api",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="api",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_count{group="api"} 20
lookout_process_cpu_utilization_ratio_sum{group="api"} 38.361000690498
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.05"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.3"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.6"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.7"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="0.9"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="1.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="db",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_count{group="db"} 20
lookout_process_cpu_utilization_ratio_sum{group="db"} 0
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.05"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.3"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.6"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.7"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="0.9"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="1"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="1.5"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="2"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="4"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="8"} 20
lookout_process_cpu_utilization_ratio_bucket{group="lookout",le="+Inf"} 20
lookout_process_cpu_utilization_ratio_count{group="lookout"} 20
lookout_process_cpu_utilization_ratio_sum{group="lookout"} 0
# HELP lookout_process_mutex_wait_samples Sample ticks that found a thread of the group waiting in futex.
# TYPE lookout_process_mutex_wait_samples counter
lookout_process_mutex_wait_samples_total{group="api"} 0
lookout_process_mutex_wait_samples_total{group="db"} 21
lookout_process_mutex_wait_samples_total{group="lookout"} 0
# HELP lookout_process_open_fds Open file descriptors of the group's processes.
# TYPE lookout_process_open_fds gauge
lookout_process_open_fds{group="api"} 7
lookout_process_open_fds{group="db"} 3
lookout_process_open_fds{group="lookout"} 3
# HELP lookout_process_resident_memory_bytes Resident memory of the group's processes.
# TYPE lookout_process_resident_memory_bytes gauge
# UNIT lookout_process_resident_memory_bytes bytes
lookout_process_resident_memory_bytes{group="api"} 8388608
lookout_process_resident_memory_bytes{group="db"} 409600
lookout_process_resident_memory_bytes{group="lookout"} 409600
# HELP lookout_process_threads Threads of the group's processes.
# TYPE lookout_process_threads gauge
lookout_process_threads{group="api"} 3
lookout_process_threads{group="db"} 2
lookout_process_threads{group="lookout"} 1
# HELP lookout_sampler_enabled Whether a sampling profile is on (1) or off (0).
# TYPE lookout_sampler_enabled gauge
lookout_sampler_enabled{profile="cpu"} 1
lookout_sampler_enabled{profile="block"} 1
lookout_sampler_enabled{profile="mutex"} 1
# HELP lookout_sampler_frequency_hertz Configured sampling frequency.
# TYPE lookout_sampler_frequency_hertz gauge
# UNIT lookout_sampler_frequency_hertz hertz
lookout_sampler_frequency_hertz 19
# HELP lookout_sampler_missed_ticks Sample ticks skipped because the previous tick overran or woke up late.
# TYPE lookout_sampler_missed_ticks counter
lookout_sampler_missed_ticks_total 0
# HELP lookout_sampler_tick_duration_seconds Time spent in one sample tick.
# TYPE lookout_sampler_tick_duration_seconds histogram
# UNIT lookout_sampler_tick_duration_seconds seconds
lookout_sampler_tick_duration_seconds_bucket{le="1e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="2.5e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="5e-05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0001"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.00025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0005"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.001"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.0025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.005"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.01"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.025"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.05"} 21
lookout_sampler_tick_duration_seconds_bucket{le="0.1"} 21
lookout_sampler_tick_duration_seconds_bucket{le="+Inf"} 21
lookout_sampler_tick_duration_seconds_count 21
lookout_sampler_tick_duration_seconds_sum 0
# HELP lookout_sampler_ticks Sample ticks done.
# TYPE lookout_sampler_ticks counter
lookout_sampler_ticks_total 21
# HELP lookout_thread_cpu_seconds CPU time of the group's threads, by thread name.
# TYPE lookout_thread_cpu_seconds counter
# UNIT lookout_thread_cpu_seconds seconds
lookout_thread_cpu_seconds_total{group="api",thread="api"} 1.095
lookout_thread_cpu_seconds_total{group="api",thread="worker"} 2.674
# EOF

"""#
}
