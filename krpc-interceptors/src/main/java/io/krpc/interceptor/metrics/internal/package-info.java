/** Implementation of the metrics interceptors; not a public API, may change at any time. */
package io.krpc.interceptor.metrics.internal;
