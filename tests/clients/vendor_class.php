<?php
// What the vendor's own PHP class (psmplSMSGatewayCenter) does, as a client of
// the adapter contract in --raw mode: multipart/form-data (an array given to
// CURLOPT_POSTFIELDS), the key in a lower-case apikey header with EMPTY
// userId and password fields beside it, and an exception on any status
// other than 200. It prints the body it got.
class psmplSMSGatewayCenter
{
    private $url;
    private $userId;
    private $password;
    private $apiKey;

    public function __construct($baseUrl, $userId, $password, $apiKey)
    {
        $this->url = $baseUrl . "/SMSApi/rest/regenerateAPIKey";
        $this->userId = $userId;
        $this->password = $password;
        $this->apiKey = $apiKey;
    }

    public function regenerateAPIKey($format)
    {
        $byKey = $this->apiKey !== "";
        $fields = array(
            "userId" => $byKey ? "" : $this->userId,
            "password" => $byKey ? "" : $this->password,
            "format" => $format,
        );
        $headers = array("cache-control: no-cache");
        if ($byKey) {
            $headers[] = "apikey: " . $this->apiKey;
        }
        $curl = curl_init();
        curl_setopt_array($curl, array(
            CURLOPT_URL => $this->url,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => (int) (getenv("REGENKEY_CLIENT_TIMEOUT") ?: 30),  // the kit's deadline
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $fields,
            CURLOPT_HTTPHEADER => $headers,
        ));
        $body = curl_exec($curl);
        $status = curl_getinfo($curl, CURLINFO_HTTP_CODE);
        $error = curl_error($curl);
        curl_close($curl);
        if ($body === false) {
            throw new Exception("cURL Error #:" . $error);
        }
        if ($status != 200) {
            throw new Exception("HTTP status " . $status);
        }
        return $body;
    }
}

$gateway = new psmplSMSGatewayCenter(
    getenv("REGENKEY_BASE_URL"),
    (string) getenv("REGENKEY_USER_ID"),
    (string) getenv("REGENKEY_PASSWORD"),
    (string) getenv("REGENKEY_API_KEY")
);
try {
    echo $gateway->regenerateAPIKey(getenv("REGENKEY_FORMAT"));
} catch (Exception $e) {
    fwrite(STDERR, $e->getMessage() . "\n");
    exit(1);
}
