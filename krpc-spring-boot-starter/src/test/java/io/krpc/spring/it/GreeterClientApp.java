package io.krpc.spring.it;

import io.krpc.examples.greeter.GreeterGrpc;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.client.GrpcChannelFactory;

/** A Boot client: one stub on the channel named greeter (its target comes from properties). */
@SpringBootConfiguration
@EnableAutoConfiguration
public class GreeterClientApp {
  @Bean
  GreeterGrpc.GreeterBlockingStub greeter(GrpcChannelFactory channels) {
    return GreeterGrpc.newBlockingStub(channels.createChannel("greeter"));
  }
}
