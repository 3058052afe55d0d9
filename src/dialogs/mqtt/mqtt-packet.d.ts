// mqtt-packet (mqtt.js's encoder) has no types for its internal numbers.js,
// which src/dialogs/mqtt/client.ts patches before mqtt.js loads.
declare module 'mqtt-packet/numbers.js' {
  const numbers: { genBufVariableByteInt?: (n: number) => Buffer };
  export default numbers;
}
