package io.krpc.spring.example.client;

import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.grpc.client.GrpcChannelFactory;

/**
 * A greeter client on Spring gRPC: the channel named {@code greeter} has the target {@code
 * krpc:///greeter} (greeter-client.properties), so it discovers the servers through the registry
 * and balances with krpc_p2c. It makes {@code demo.calls} calls and prints the spread.
 */
@SpringBootApplication
public class GreeterClientApplication {

  @Bean
  GreeterGrpc.GreeterBlockingStub greeter(GrpcChannelFactory channels) {
    return GreeterGrpc.newBlockingStub(channels.createChannel("greeter"));
  }

  @Bean
  ApplicationRunner callGreeter(GreeterGrpc.GreeterBlockingStub greeter, Environment env) {
    return args -> {
      int calls = env.getProperty("demo.calls", Integer.class, 30);
      Map<String, Integer> spread = new TreeMap<>();
      for (int i = 0; i < calls; i++) {
        String server =
            greeter.sayHello(HelloRequest.newBuilder().setName("boot").build()).getServer();
        spread.merge(server, 1, Integer::sum);
      }
      System.out.println("calls per server: " + spread);
    };
  }

  public static void main(String[] args) {
    SpringApplication app = new SpringApplication(GreeterClientApplication.class);
    app.setDefaultProperties(Map.of("spring.config.name", "greeter-client"));
    app.run(args);
  }
}
