// PromQL
